package loadtest

import (
	"fmt"
	"sync"
	"time"
)

// A client's timeline: what it did and saw around a recovery (a move
// asked, the new link joined, published and connected, the first frame of
// each remote track on a link, the handover's end, the old link closed),
// kept so that a survival trial with a gap can be read event by event
// (`qrtn loadtest --survive drain --json`, each trial's "events").

// Event is one entry of a client's timeline.
type Event struct {
	At     time.Time `json:"at"`
	Client string    `json:"client"`
	What   string    `json:"what"`
}

// maxEvents bounds a client's timeline; older events are dropped.
const maxEvents = 4000

type timeline struct {
	mu     sync.Mutex
	events []Event
}

// add records what at now for client.
func (t *timeline) add(now time.Time, client, format string, args ...any) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if len(t.events) >= maxEvents {
		t.events = append(t.events[:0], t.events[maxEvents/2:]...)
	}
	t.events = append(t.events, Event{At: now, Client: client, What: fmt.Sprintf(format, args...)})
}

// between returns the events in [from, to].
func (t *timeline) between(from, to time.Time) []Event {
	t.mu.Lock()
	defer t.mu.Unlock()
	var out []Event
	for _, e := range t.events {
		if !e.At.Before(from) && !e.At.After(to) {
			out = append(out, e)
		}
	}
	return out
}

// note records an event of c.
func (c *client) note(format string, args ...any) {
	c.events.add(time.Now(), c.p.identity, format, args...)
}
