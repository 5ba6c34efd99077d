package webhook

import "time"

// queue is the delivery state of one URL, without IO: the events waiting,
// in order, and when the head may be tried again. The driver asks next,
// POSTs, and reports the result; every decision takes now.
type queue struct {
	cfg     Config
	items   []item // FIFO, at most cfg.QueueSize
	backoff time.Duration
	retryAt time.Time // zero: the head may go now

	delivered, attempts, failures, dropped, expired uint64
	lastLatency                                     time.Duration
}

type item struct {
	ev     Event
	body   []byte
	queued time.Time
}

// push queues an event; a full queue drops it (counted) and returns false.
func (q *queue) push(now time.Time, ev Event, body []byte) bool {
	if len(q.items) >= q.cfg.QueueSize {
		q.dropped++
		return false
	}
	q.items = append(q.items, item{ev: ev, body: body, queued: now})
	return true
}

// next returns the event to try now (a non-zero item), or how long to
// wait; false: the queue is empty. Events older than the retry window are dropped.
func (q *queue) next(now time.Time) (item, time.Duration, bool) {
	for len(q.items) > 0 && now.Sub(q.items[0].queued) > q.cfg.RetryFor {
		q.items = q.items[1:]
		q.expired++
		q.backoff, q.retryAt = 0, time.Time{}
	}
	if len(q.items) == 0 {
		return item{}, 0, false
	}
	if !q.retryAt.IsZero() && now.Before(q.retryAt) {
		return item{}, q.retryAt.Sub(now), true
	}
	return q.items[0], 0, true
}

// result records the outcome of trying the head.
func (q *queue) result(now time.Time, ok bool) {
	if len(q.items) == 0 {
		return
	}
	q.attempts++
	if ok {
		q.delivered++
		q.lastLatency = now.Sub(q.items[0].queued)
		q.items[0] = item{}
		q.items = q.items[1:]
		q.backoff, q.retryAt = 0, time.Time{}
		return
	}
	q.failures++
	q.backoff = min(max(2*q.backoff, q.cfg.MinBackoff), q.cfg.MaxBackoff)
	q.retryAt = now.Add(q.backoff)
}
