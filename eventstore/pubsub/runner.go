package pubsub

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/ThreeDotsLabs/watermill"
	"github.com/ThreeDotsLabs/watermill/message"

	"github.com/offerflow/offerflow/eventstore"
)

// Runner runs one Watermill router whose handlers follow the log through
// Subscribers, and the background loops that live and stop with it. The
// read models and the process managers both run on one: Run once, Close at
// any time and more than once.
type Runner struct {
	name   string
	router *message.Router
	logger watermill.LoggerAdapter
	subs   []*Subscriber
	loops  []func(context.Context)

	mu      sync.Mutex
	started bool
	closed  bool
	cancel  context.CancelFunc
	done    chan struct{}
}

// NewRunner returns a Runner named name (for its errors) whose router waits
// up to closeTimeout for the messages in flight when it closes.
func NewRunner(name string, closeTimeout time.Duration, logger watermill.LoggerAdapter) (*Runner, error) {
	if logger == nil {
		logger = watermill.NopLogger{}
	}
	router, err := message.NewRouter(message.RouterConfig{CloseTimeout: closeTimeout}, logger)
	if err != nil {
		return nil, fmt.Errorf("new %s router: %w", name, err)
	}
	return &Runner{name: name, router: router, logger: logger, done: make(chan struct{})}, nil
}

// Follow adds handler fn, fed by a new Subscriber of store in cfg's
// consumer group, on topic, wrapped by mws (the first outermost). Call it
// before Run.
func (r *Runner) Follow(handler, topic string, store eventstore.Store, checkpoints CheckpointStore,
	cfg SubscriberConfig, fn message.NoPublishHandlerFunc, mws ...message.HandlerMiddleware) error {
	sub, err := NewSubscriber(store, checkpoints, cfg, r.logger)
	if err != nil {
		return fmt.Errorf("%s: %w", handler, err)
	}
	r.subs = append(r.subs, sub)
	h := r.router.AddConsumerHandler(handler, topic, sub, fn)
	h.AddMiddleware(mws...)
	return nil
}

// Loop adds fn, run beside the router from Run on; its context ends when
// the router stops. Call it before Run.
func (r *Runner) Loop(fn func(context.Context)) { r.loops = append(r.loops, fn) }

// Run runs the router and the loops until ctx is done or Close is called.
// It may be called once, and not after Close.
func (r *Runner) Run(ctx context.Context) error {
	r.mu.Lock()
	switch {
	case r.closed:
		r.mu.Unlock()
		return fmt.Errorf("%s: closed", r.name)
	case r.started:
		r.mu.Unlock()
		return fmt.Errorf("%s: already running", r.name)
	}
	r.started = true
	ctx, r.cancel = context.WithCancel(ctx)
	r.mu.Unlock()
	defer close(r.done)
	defer r.cancel()

	var wg sync.WaitGroup
	for _, loop := range r.loops {
		wg.Go(func() { loop(ctx) })
	}
	err := r.router.Run(ctx)
	// A Subscribe that reads its checkpoint fails with the context: the
	// router's error then only says that Run was stopped while starting.
	stopped := ctx.Err() != nil
	r.cancel()
	wg.Wait()
	if err != nil && !stopped {
		return fmt.Errorf("%s router: %w", r.name, err)
	}
	return nil
}

// Running is closed once every handler subscribed to the log.
func (r *Runner) Running() <-chan struct{} { return r.router.Running() }

// Close stops Run, waits for it (and the message in flight, up to the
// router's CloseTimeout), and releases the subscribers. A runner that never
// ran closes at once.
func (r *Runner) Close() error {
	r.mu.Lock()
	started, cancel := r.started, r.cancel
	r.closed = true
	r.mu.Unlock()
	var err error
	if started {
		cancel()
		<-r.done
		// A router whose Run failed to subscribe every handler (its context
		// ended meanwhile) never ran: Router.Close would wait its whole
		// CloseTimeout for the handlers that never started, and fail.
		// Those that did start stopped with the router's context.
		if r.router.IsRunning() {
			err = r.router.Close()
		}
	}
	errs := []error{err}
	for _, s := range r.subs {
		errs = append(errs, s.Close())
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("close %s: %w", r.name, err)
	}
	return nil
}
