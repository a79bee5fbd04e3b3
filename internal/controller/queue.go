package controller

import (
	"sync"
	"time"

	"github.com/kennel-dev/kennel/internal/controller/clock"
)

// Queue is a rate-limited work queue of string keys with the semantics of
// client-go's workqueue:
//
//   - a key waiting in the queue is held once, however often it is added;
//   - a key is handed to one worker at a time: Get marks it processing, and a
//     key added while it is processing is queued again only once Done is
//     called for it;
//   - AddAfter and AddRateLimited hold a key back and add it when its delay
//     has passed; AddRateLimited's delay grows exponentially with the key's
//     failures until Forget.
//
// The zero value is not usable; use NewQueue.
type Queue struct {
	clock   clock.Clock
	backoff Backoff
	onDepth func(int) // reports the number of ready keys; never nil

	mu           sync.Mutex
	cond         *sync.Cond
	queue        []string            // ready keys, FIFO
	dirty        map[string]struct{} // keys that need processing
	processing   map[string]struct{} // keys handed out and not yet Done
	failures     map[string]int      // AddRateLimited calls since Forget
	shuttingDown bool
	drain        bool

	waiting delayed       // keys held back by AddAfter
	wake    chan struct{} // tells the delay loop the earliest entry changed
	stop    chan struct{} // closed on shutdown
	looping bool          // the delay loop has started
}

// QueueConfig configures a Queue.
type QueueConfig struct {
	// Backoff sets the delays of AddRateLimited.
	Backoff Backoff
	// Clock times delayed adds; nil means the system clock.
	Clock clock.Clock
}

// NewQueue returns an empty queue. Shut it down when done with it: once
// AddAfter or AddRateLimited has been used, a goroutine times the delays
// until then.
func NewQueue(cfg QueueConfig) *Queue {
	return newQueue(cfg, nil)
}

func newQueue(cfg QueueConfig, onDepth func(int)) *Queue {
	if cfg.Clock == nil {
		cfg.Clock = clock.Real{}
	}
	if onDepth == nil {
		onDepth = func(int) {}
	}
	q := &Queue{
		clock:      cfg.Clock,
		backoff:    cfg.Backoff.withDefaults(),
		onDepth:    onDepth,
		dirty:      map[string]struct{}{},
		processing: map[string]struct{}{},
		failures:   map[string]int{},
		waiting:    delayed{index: map[string]int{}},
		wake:       make(chan struct{}, 1),
		stop:       make(chan struct{}),
	}
	q.cond = sync.NewCond(&q.mu)
	return q
}

// Add queues key unless it is already waiting to be processed. A key added
// while it is processing is queued when Done is called for it. Add after
// shutdown does nothing.
func (q *Queue) Add(key string) {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.addLocked(key)
}

func (q *Queue) addLocked(key string) {
	if q.shuttingDown {
		return
	}
	if _, ok := q.dirty[key]; ok {
		return
	}
	q.dirty[key] = struct{}{}
	if _, ok := q.processing[key]; ok {
		return
	}
	q.queue = append(q.queue, key)
	q.onDepth(len(q.queue))
	q.cond.Signal()
}

// Get blocks until a key is ready and marks it processing; the caller must
// call Done(key) when finished with it. After shutdown Get keeps returning
// the keys still queued, then shutdown is true.
func (q *Queue) Get() (key string, shutdown bool) {
	q.mu.Lock()
	defer q.mu.Unlock()
	for len(q.queue) == 0 && !q.shuttingDown {
		q.cond.Wait()
	}
	if len(q.queue) == 0 {
		return "", true
	}
	key = q.queue[0]
	q.queue[0] = ""
	q.queue = q.queue[1:]
	q.onDepth(len(q.queue))
	q.processing[key] = struct{}{}
	delete(q.dirty, key)
	return key, false
}

// Done marks key as no longer processing, and queues it again if it was
// added meanwhile.
func (q *Queue) Done(key string) {
	q.mu.Lock()
	defer q.mu.Unlock()
	delete(q.processing, key)
	if _, ok := q.dirty[key]; ok {
		q.queue = append(q.queue, key)
		q.onDepth(len(q.queue))
		q.cond.Signal()
		return
	}
	if len(q.processing) == 0 {
		// Wake ShutDownWithDrain, which waits on the same condition.
		q.cond.Broadcast()
	}
}

// Len is the number of keys ready to be handed out; keys held back by a
// delay are not counted.
func (q *Queue) Len() int {
	q.mu.Lock()
	defer q.mu.Unlock()
	return len(q.queue)
}

// ShutDown makes Add a no-op and Get return shutdown once the queue is
// empty, and drops the keys held back by a delay. It does not wait.
func (q *Queue) ShutDown() {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.drain = false
	q.shutdownLocked()
}

// ShutDownWithDrain shuts the queue down like ShutDown, then waits until
// every key handed out has been marked Done. A concurrent ShutDown stops the
// wait.
func (q *Queue) ShutDownWithDrain() {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.drain = true
	q.shutdownLocked()
	for len(q.processing) > 0 && q.drain {
		q.cond.Wait()
	}
}

func (q *Queue) shutdownLocked() {
	if !q.shuttingDown {
		q.shuttingDown = true
		close(q.stop)
	}
	q.cond.Broadcast()
}

// ShuttingDown reports whether ShutDown or ShutDownWithDrain was called.
func (q *Queue) ShuttingDown() bool {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.shuttingDown
}

// AddRateLimited adds key after its back-off delay, which doubles with every
// call until Forget(key).
func (q *Queue) AddRateLimited(key string) {
	q.mu.Lock()
	n := q.failures[key]
	q.failures[key] = n + 1
	q.mu.Unlock()
	q.AddAfter(key, q.backoff.delay(n))
}

// Forget resets key's back-off; call it when the key was processed
// successfully. It does not remove the key from the queue.
func (q *Queue) Forget(key string) {
	q.mu.Lock()
	defer q.mu.Unlock()
	delete(q.failures, key)
}

// NumRequeues is the number of AddRateLimited calls for key since Forget.
func (q *Queue) NumRequeues(key string) int {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.failures[key]
}

// AddAfter adds key once d has passed; at once when d <= 0. If key is
// already held back, the earlier of the two deadlines wins.
func (q *Queue) AddAfter(key string, d time.Duration) {
	if d <= 0 {
		q.Add(key)
		return
	}
	at := q.clock.Now().Add(d)
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.shuttingDown {
		return
	}
	q.waiting.push(key, at)
	if !q.looping {
		q.looping = true
		go q.delayLoop()
	}
	select {
	case q.wake <- struct{}{}:
	default:
	}
}

// delayLoop moves held-back keys into the queue when they are due. It runs
// from the first AddAfter until shutdown.
func (q *Queue) delayLoop() {
	for {
		now := q.clock.Now()
		q.mu.Lock()
		for _, key := range q.waiting.popDue(now) {
			q.addLocked(key)
		}
		next, ok := q.waiting.earliest()
		q.mu.Unlock()

		var fire <-chan time.Time
		var timer clock.Timer
		if ok {
			timer = q.clock.NewTimer(next.Sub(now))
			fire = timer.C()
		}
		select {
		case <-q.stop:
		case <-q.wake:
		case <-fire:
		}
		if timer != nil {
			timer.Stop()
		}
		select {
		case <-q.stop:
			return
		default:
		}
	}
}
