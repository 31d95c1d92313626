package pubsub

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ThreeDotsLabs/watermill"
	"github.com/ThreeDotsLabs/watermill/message"

	"github.com/offerflow/offerflow/eventstore"
)

// ErrClosed is returned by Subscribe and Publish after Close.
var ErrClosed = errors.New("pubsub: closed")

// SubscriberConfig configures a Subscriber. Zero values take the defaults
// named on each field.
type SubscriberConfig struct {
	// ConsumerGroup names the durable consumer: its checkpoint per topic is
	// loaded on Subscribe and saved after every Ack, so a new subscription
	// of the group resumes after the last acked event. Group names are
	// durable identifiers; renaming one replays the log to it.
	//
	// Empty means an ephemeral consumer: every subscription replays the
	// topic from the start of the log and nothing is saved.
	ConsumerGroup string

	// PageSize is how many events one ReadAll fetches (default 256, and
	// never fewer than MaxBatch).
	PageSize int

	// MaxBatch, above 1, makes every message carry up to MaxBatch
	// consecutive events of the topic at once: whatever the log holds
	// after the checkpoint, up to that bound (read them with Events). One
	// Ack then covers them all, so a consumer can apply a batch in one
	// transaction. 0 or 1: one event per message (default).
	MaxBatch int

	// PollInterval bounds how long a caught-up subscription waits in
	// Store.Wait before reading again (default 1s). Wait wakes on append;
	// this is only a safety net should a wake-up be missed.
	PollInterval time.Duration

	// NackResendDelay is the pause before a nacked message is delivered
	// again (default 100ms), so a failing handler does not spin.
	NackResendDelay time.Duration

	// RetryDelay is the pause after a failed read of the store before
	// trying again (default 1s).
	RetryDelay time.Duration

	// Prepare, with MaxBatch above 1, is called with the events of each
	// batch before it is delivered, in a goroutine of the subscription's
	// own: it prepares the next batch while the handler works on the one
	// before (a rebuild decodes there while it writes). What it returns
	// rides with the batch's message (read it with Prepared). It must not
	// keep or write to the events, and the handler must not change what
	// it made: a batch delivered again after a Nack comes with the same.
	Prepare func(events []eventstore.Event) any
}

func (c *SubscriberConfig) setDefaults() {
	if c.PageSize == 0 {
		c.PageSize = 256
	}
	c.PageSize = max(c.PageSize, c.MaxBatch)
	if c.PollInterval == 0 {
		c.PollInterval = time.Second
	}
	if c.NackResendDelay == 0 {
		c.NackResendDelay = 100 * time.Millisecond
	}
	if c.RetryDelay == 0 {
		c.RetryDelay = time.Second
	}
}

// Validate reports a configuration that cannot work (negative sizes or
// durations).
func (c SubscriberConfig) Validate() error {
	if c.PageSize < 0 || c.MaxBatch < 0 {
		return fmt.Errorf("subscriber config: PageSize %d or MaxBatch %d is negative", c.PageSize, c.MaxBatch)
	}
	if c.PollInterval < 0 || c.NackResendDelay < 0 || c.RetryDelay < 0 {
		return errors.New("subscriber config: durations must not be negative")
	}
	return nil
}

// checkpointSaveTimeout bounds one checkpoint save. Saves run detached from
// the subscription's context: a message acked just before Close is still
// checkpointed, so it is not redelivered.
const checkpointSaveTimeout = 10 * time.Second

// Subscriber is a message.Subscriber that follows the event store's global
// log. Each subscription delivers the events of its topic in global order,
// one at a time: the next message is sent only after the previous one was
// acked; a nacked message is sent again after NackResendDelay. Delivery is
// at least once: a message acked but not yet checkpointed when the process
// dies comes again, so consumers dedup by Position.
type Subscriber struct {
	store       eventstore.Store
	checkpoints CheckpointStore
	cfg         SubscriberConfig
	logger      watermill.LoggerAdapter

	// closed is cancelled by Close; every subscription's context derives
	// its cancellation from it.
	closed    context.Context
	close     context.CancelFunc
	mu        sync.Mutex // orders wg.Add in Subscribe against Close
	isClosed  bool
	running   sync.WaitGroup
	closeOnce sync.Once
}

var _ message.Subscriber = (*Subscriber)(nil)

// NewSubscriber returns a Subscriber over store. checkpoints may be nil only
// when cfg.ConsumerGroup is empty; a nil logger logs nothing.
func NewSubscriber(store eventstore.Store, checkpoints CheckpointStore, cfg SubscriberConfig, logger watermill.LoggerAdapter) (*Subscriber, error) {
	if store == nil {
		return nil, errors.New("new subscriber: nil store")
	}
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("new subscriber: %w", err)
	}
	if cfg.ConsumerGroup != "" && checkpoints == nil {
		return nil, fmt.Errorf("new subscriber: consumer group %q needs a checkpoint store", cfg.ConsumerGroup)
	}
	cfg.setDefaults()
	if logger == nil {
		logger = watermill.NopLogger{}
	}
	closed, cancel := context.WithCancel(context.Background())
	return &Subscriber{
		store:       store,
		checkpoints: checkpoints,
		cfg:         cfg,
		logger:      logger.With(watermill.LogFields{"consumer_group": cfg.ConsumerGroup}),
		closed:      closed,
		close:       cancel,
	}, nil
}

// Subscribe starts delivering the events of topic (a stream category, or
// TopicAll) after the consumer group's checkpoint, or from the start of the
// log without a group. The channel is closed when ctx is done or the
// Subscriber is closed; a message in flight then has its context cancelled
// and, unless it was acked, is delivered again to the next subscription.
func (s *Subscriber) Subscribe(ctx context.Context, topic string) (<-chan *message.Message, error) {
	if err := validateTopic(topic); err != nil {
		return nil, fmt.Errorf("subscribe: %w", err)
	}
	s.mu.Lock()
	if s.isClosed {
		s.mu.Unlock()
		return nil, fmt.Errorf("subscribe %s: %w", topic, ErrClosed)
	}
	s.running.Add(1)
	s.mu.Unlock()

	var start uint64
	if s.cfg.ConsumerGroup != "" {
		var err error
		start, err = s.checkpoints.Load(ctx, s.cfg.ConsumerGroup, topic)
		if err != nil {
			s.running.Done()
			if ctx.Err() != nil {
				// A subscription whose context ended delivers nothing, as
				// Watermill's other subscribers have it: a closed channel,
				// not an error that would make a router's start fail.
				out := make(chan *message.Message)
				close(out)
				return out, nil
			}
			return nil, fmt.Errorf("subscribe %s: %w", topic, err)
		}
	}

	subCtx, cancel := context.WithCancel(ctx)
	stop := context.AfterFunc(s.closed, cancel)
	sub := &subscription{
		s:        s,
		topic:    topic,
		category: topicCategory(topic),
		out:      make(chan *message.Message),
		logger:   s.logger.With(watermill.LogFields{"topic": topic}),
		pos:      start,
		saved:    start,
		moved:    make(chan struct{}, 1),
	}
	sub.logger.Debug("subscribed", watermill.LogFields{"after": start})
	go func() {
		defer s.running.Done()
		defer close(sub.out)
		defer stop()
		defer cancel()
		sub.run(subCtx)
	}()
	return sub.out, nil
}

// Close stops every subscription, waits until their channels are closed and
// makes later Subscribe calls fail. It is safe to call more than once.
func (s *Subscriber) Close() error {
	s.closeOnce.Do(func() {
		s.mu.Lock()
		s.isClosed = true
		s.mu.Unlock()
		s.close()
	})
	s.running.Wait()
	return nil
}

// subscription is one Subscribe call's follower of the log.
type subscription struct {
	s        *Subscriber
	topic    string
	category string
	out      chan *message.Message
	logger   watermill.LoggerAdapter

	pos     uint64 // position of the last event handled (delivered and acked, or skipped)
	saved   uint64 // checkpoint last saved (or loaded)
	skipped int    // events skipped since the last save

	// through is the last position of the last page handled in full,
	// which moved pokes: fetch waits for it after a page that reached the
	// head (see fetch).
	through atomic.Uint64
	moved   chan struct{}
}

// run follows the log until ctx is done, in three goroutines: one reads
// the next page while a second splits the page before it into the
// messages the topic gets and prepares them (SubscriberConfig.Prepare),
// while this one delivers the page before that. A consumer catching up
// never waits for the store between pages, nor for the next batch to be
// prepared. At the head of the log the next page is read once the last one
// is handled (see fetch).
func (sub *subscription) run(ctx context.Context) {
	pages := make(chan []eventstore.Event, 1)
	planned := make(chan plan)
	fetched, staged := make(chan struct{}), make(chan struct{})
	go func(after uint64) {
		defer close(fetched)
		sub.fetch(ctx, after, pages)
	}(sub.pos)
	go func() {
		defer close(staged)
		for {
			select {
			case events := <-pages:
				select {
				case planned <- sub.plan(events):
				case <-ctx.Done():
					return
				}
			case <-ctx.Done():
				return
			}
		}
	}()
	defer func() { <-fetched; <-staged }()
	for {
		var p plan
		select {
		case p = <-planned:
		case <-ctx.Done():
			return
		}
		if !sub.deliverPlan(ctx, p) {
			return
		}
		sub.through.Store(p.last)
		select {
		case sub.moved <- struct{}{}:
		default:
		}
		// A topic that is rare in the log would otherwise be rescanned from
		// its last matching event after each restart; moving the checkpoint
		// over a page of events it does not select skips nothing.
		if sub.skipped >= sub.s.cfg.PageSize {
			sub.save(ctx)
		}
	}
}

// fetch reads the log after position after, page by page, and
// sends each non-empty page to pages until ctx is done. Delivery never
// skips an event, so reading ahead of it from the last event read is
// exact: a nacked message is sent again from the page in hand.
func (sub *subscription) fetch(ctx context.Context, after uint64, pages chan<- []eventstore.Event) {
	for ctx.Err() == nil {
		events, err := sub.s.store.ReadAll(ctx, after, sub.s.cfg.PageSize)
		if err != nil {
			sub.retryLater(ctx, "read log", after, err)
			continue
		}
		if len(events) == 0 {
			sub.wait(ctx, after)
			continue
		}
		select {
		case pages <- events:
			after = events[len(events)-1].Position
		case <-ctx.Done():
			return
		}
		// A page short of PageSize reached the head as the store knew
		// it: the next read would find nothing but what was appended
		// since, which Wait tells without reading the log (it returns
		// at once when the log holds more, and looks at the file when
		// it knows of nothing more). Reading first cost every
		// subscription an empty read of the log after every commit
		// (issue 7).
		//
		// Nor is the next page read before this one is handled: read
		// ahead at the head, each page held what a commit or two had
		// appended, and up to three of them waited, read, in the
		// pipeline while the consumer worked on a fourth. An event
		// appended meanwhile waited for all of them (a transaction each
		// for a batching consumer) before its own page: the read
		// models' and the process managers' batches were 2 to 4 events
		// at 500 offers/s, and an event waited for 1 ms at p50, 59 ms
		// at p99 between its read and its delivery (issue 7). Read once
		// the consumer is done, the page holds everything appended in
		// the meantime, up to PageSize, in one batch.
		if len(events) < sub.s.cfg.PageSize {
			if !sub.handled(ctx, after) {
				return
			}
			sub.wait(ctx, after)
		}
	}
}

// plan is a page of the log split into the messages the topic gets.
type plan struct {
	deliveries []delivery
	skipped    int    // events after the last delivery that the topic does not select
	last       uint64 // position of the page's last event
}

// delivery is one message's events: a batch of up to MaxBatch consecutive
// events of the topic, or one event without MaxBatch.
type delivery struct {
	// passed is the position of the last event before events that the
	// topic does not select, when no selected event comes between them
	// and the previous delivery (0: none); skipped counts those the topic
	// does not select since the previous delivery.
	passed   uint64
	skipped  int
	events   []eventstore.Event
	prepared any // what SubscriberConfig.Prepare made of events
}

// plan splits a page into the deliveries of the topic, and prepares each
// batch.
func (sub *subscription) plan(events []eventstore.Event) plan {
	batch := sub.s.cfg.MaxBatch
	p := plan{last: events[len(events)-1].Position}
	var next delivery
	add := func(evs []eventstore.Event) {
		next.events = evs
		if batch > 1 && sub.s.cfg.Prepare != nil {
			next.prepared = sub.s.cfg.Prepare(evs)
		}
		p.deliveries = append(p.deliveries, next)
		next = delivery{}
	}
	// sel is a slice of events while the selected events are consecutive
	// in the page (always, for TopicAll): copying a page of thousands of
	// events into it one by one cost a rebuild more than encoding them.
	var sel []eventstore.Event
	start, aliased := 0, false
	for i, ev := range events {
		if !sub.matches(ev) {
			if len(sel) == 0 {
				next.passed = ev.Position
			}
			next.skipped++
			continue
		}
		if batch <= 1 {
			add(events[i : i+1 : i+1])
			continue
		}
		switch {
		case len(sel) == 0:
			start, sel, aliased = i, events[i:i+1], true
		case aliased && start+len(sel) == i:
			sel = events[start : i+1]
		default:
			sel, aliased = append(slices.Clip(sel), ev), false // a copy: never write into events
		}
		if len(sel) == batch {
			add(slices.Clip(sel))
			sel = nil
		}
	}
	if len(sel) > 0 {
		add(slices.Clip(sel))
	}
	p.skipped = next.skipped
	return p
}

// deliverPlan delivers the messages of one page, in order. It returns
// false when ctx ended first.
func (sub *subscription) deliverPlan(ctx context.Context, p plan) bool {
	for _, d := range p.deliveries {
		if d.passed > 0 {
			sub.pos = max(sub.pos, d.passed)
		}
		sub.skipped += d.skipped
		if !sub.deliverOne(ctx, d) {
			return false
		}
	}
	sub.skipped += p.skipped
	// Events after the last selected one are passed over too.
	sub.pos = max(sub.pos, p.last)
	return true
}

// deliverOne delivers the message of d until it is acked.
func (sub *subscription) deliverOne(ctx context.Context, d delivery) bool {
	last := d.events[len(d.events)-1]
	if sub.s.cfg.MaxBatch <= 1 {
		return sub.deliver(ctx, last.Position, func(ctx context.Context) *message.Message {
			msg := ToMessage(last)
			msg.SetContext(ctx)
			return msg
		})
	}
	return sub.deliver(ctx, last.Position, func(ctx context.Context) *message.Message {
		return batchMessage(ctx, d.events, d.prepared)
	})
}

// handled blocks until the pages up to position after are handled in
// full (delivered and acked, or passed over). It returns false when ctx
// ended first.
func (sub *subscription) handled(ctx context.Context, after uint64) bool {
	for sub.through.Load() < after {
		select {
		case <-sub.moved:
		case <-ctx.Done():
			return false
		}
	}
	return true
}

// wait blocks until the log grows past after, PollInterval passes, or ctx
// is done.
func (sub *subscription) wait(ctx context.Context, after uint64) {
	waitCtx, cancel := context.WithTimeout(ctx, sub.s.cfg.PollInterval)
	defer cancel()
	err := sub.s.store.Wait(waitCtx, after)
	if err == nil || ctx.Err() != nil || errors.Is(err, context.DeadlineExceeded) {
		return
	}
	sub.retryLater(ctx, "wait for log", after, err)
}

// retryLater logs a store failure and pauses before the caller tries again.
func (sub *subscription) retryLater(ctx context.Context, what string, after uint64, err error) {
	if ctx.Err() != nil {
		return
	}
	sub.logger.Error("cannot "+what+", retrying", err, watermill.LogFields{"after": after})
	sleep(ctx, sub.s.cfg.RetryDelay)
}

func (sub *subscription) matches(ev eventstore.Event) bool {
	return sub.topic == TopicAll || category(ev.Stream) == sub.category
}

// deliver sends the message that build makes with the context it is
// given, for the events up to position, until it is acked, building and sending it again after each
// Nack. It returns false when ctx ended first.
func (sub *subscription) deliver(ctx context.Context, position uint64, build func(context.Context) *message.Message) bool {
	for {
		msgCtx, cancelMsg := context.WithCancel(ctx)
		msg := build(msgCtx)

		select {
		case sub.out <- msg:
		case <-ctx.Done():
			cancelMsg()
			return false
		}

		select {
		case <-msg.Acked():
			cancelMsg()
			sub.acked(ctx, position)
			return true
		case <-msg.Nacked():
			cancelMsg()
			sub.logger.Trace("nacked, resending", watermill.LogFields{"uuid": msg.UUID, "position": position})
			if !sleep(ctx, sub.s.cfg.NackResendDelay) {
				return false
			}
		case <-ctx.Done():
			cancelMsg()
			// An Ack racing with Close still counts, so that the next
			// subscription does not redeliver what was handled.
			select {
			case <-msg.Acked():
				sub.acked(ctx, position)
			default:
			}
			return false
		}
	}
}

// acked records that the events up to position were handled and
// checkpoints them.
func (sub *subscription) acked(ctx context.Context, position uint64) {
	sub.pos = position
	sub.save(ctx)
}

// save checkpoints pos for the consumer group. A failure is logged and not
// fatal: the message stays acked, a later save covers it, and at worst a
// restart redelivers from the older checkpoint (at least once, never a gap).
func (sub *subscription) save(ctx context.Context) {
	group := sub.s.cfg.ConsumerGroup
	sub.skipped = 0
	if group == "" || sub.pos <= sub.saved {
		return
	}
	saveCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), checkpointSaveTimeout)
	defer cancel()
	if err := sub.s.checkpoints.Save(saveCtx, group, sub.topic, sub.pos); err != nil {
		sub.logger.Error("cannot save checkpoint", err, watermill.LogFields{"position": sub.pos})
		return
	}
	sub.saved = sub.pos
}

// sleep pauses for d and reports whether ctx is still live.
func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}
