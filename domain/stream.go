package domain

// Stream names. The part before the first '-' is the stream's category; ids
// never contain the category, so names cannot collide. They live in the domain
// because every side reads streams by them: the command side to decide, the
// event log to show histories, the process managers and the CLI.

// ResellerStream returns the name of a reseller's stream.
func ResellerStream(id ResellerID) string { return "reseller-" + string(id) }

// ProductStream returns the name of a product's stream.
func ProductStream(id ProductID) string { return "product-" + string(id) }

// CustomerStream returns the name of a customer's stream.
func CustomerStream(id CustomerID) string { return "customer-" + string(id) }

// TemplateStream returns the name of a template's stream.
func TemplateStream(id TemplateID) string { return "template-" + string(id) }

// OfferStream returns the name of an offer's stream.
func OfferStream(id OfferID) string { return "offer-" + string(id) }

// GrantStream returns the name of the stream of the licenses an offer granted.
func GrantStream(id OfferID) string { return "grant-" + string(id) }

// TokenStream returns the name of an API token's stream; hash is the hex
// SHA-256 of the token.
func TokenStream(hash string) string { return "token-" + hash }

// CausedStreams returns the names of the streams that an offer's events
// cause, derived from the offer's id: an offer's history shows their events
// beside its own.
func CausedStreams(id OfferID) []string { return []string{GrantStream(id)} }

// CampaignStream returns the name of a campaign's stream.
func CampaignStream(id CampaignID) string { return "campaign-" + string(id) }
