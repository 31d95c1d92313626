package domain

// ResellerRegistered records a new reseller, created by the operator.
type ResellerRegistered struct {
	ResellerID ResellerID `json:"reseller_id"`
	Name       string     `json:"name"`
}

func (ResellerRegistered) EventType() string { return TypeResellerRegistered }

// Reseller is a company that passes e-learning products on to its customers.
type Reseller struct {
	id   ResellerID
	name string
}

// ID returns the reseller's id, empty until it is registered.
func (r *Reseller) ID() ResellerID { return r.id }

// Name returns the reseller's name.
func (r *Reseller) Name() string { return r.name }

// Exists reports whether the reseller has been registered.
func (r *Reseller) Exists() bool { return r.id != "" }

// Register records a new reseller.
func (r *Reseller) Register(id ResellerID, name string) ([]Event, error) {
	if r.Exists() {
		return nil, ErrResellerExists
	}
	name, err := checkName("name", name)
	if err != nil {
		return nil, err
	}
	return []Event{&ResellerRegistered{ResellerID: id, Name: name}}, nil
}

// Apply folds an event into the reseller.
func (r *Reseller) Apply(e Event) {
	if ev, ok := e.(*ResellerRegistered); ok {
		r.id, r.name = ev.ResellerID, ev.Name
	}
}
