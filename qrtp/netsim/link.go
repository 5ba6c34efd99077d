package netsim

import (
	"math/rand/v2"
	"time"
)

// Placement says where a link's loss model sits relative to its bottleneck.
type Placement uint8

const (
	// LossBeforeBottleneck drops packets before they reach the queue, as
	// Linux netem on the sender's egress does: a lost packet never takes
	// link capacity, so the link can still deliver its full rate.
	LossBeforeBottleneck Placement = iota
	// LossAfterBottleneck drops packets after they crossed the bottleneck,
	// as a lossy radio or long-haul segment does: lost packets consumed
	// capacity, so at most rate × (1 − loss) is delivered.
	LossAfterBottleneck
)

// String names the placement as the relay's --placement flag spells it.
func (p Placement) String() string {
	if p == LossAfterBottleneck {
		return "after"
	}
	return "before"
}

// LinkConfig is one direction of a path. The zero value is an ideal link:
// unlimited rate, no queue limit, no delay, no loss.
type LinkConfig struct {
	// Rate is the bottleneck rate in bits per second; 0 means unlimited.
	Rate float64 `yaml:"rate"`
	// QueueBytes is the tail-drop limit of the bottleneck queue, counting
	// the bytes not yet fully transmitted; 0 means unlimited. It only has an
	// effect with a Rate.
	QueueBytes int `yaml:"queue_bytes"`
	// Delay is the one-way propagation delay added after the bottleneck.
	Delay time.Duration `yaml:"delay"`
	// Jitter adds a uniform offset in [−Jitter, +Jitter] to Delay (never
	// below zero delay). Unless Reorder is set a packet is never delivered
	// before the one sent ahead of it, so jitter then skews delay upwards.
	Jitter time.Duration `yaml:"jitter"`
	// Reorder lets jitter reorder packets.
	Reorder bool `yaml:"reorder"`
	// Loss is the loss model; Placement says where it applies.
	Loss      LossModel `yaml:"loss"`
	Placement Placement `yaml:"placement"`
}

// QueueBDP returns a queue size of multiple × the bandwidth-delay product of
// a link of rate bits/s under a round trip of rtt, in bytes, but at least
// ten 1500-byte packets so that slow or short links can still queue a burst.
func QueueBDP(rate float64, rtt time.Duration, multiple float64) int {
	return int(max(multiple*rate/8*rtt.Seconds(), 15000))
}

// Fate is what a link did with one packet.
type Fate uint8

// The outcomes of Link.Enqueue.
const (
	Delivered Fate = iota // it will arrive at the returned time
	QueueDrop             // the bottleneck queue was full (tail drop)
	Lost                  // the loss model took it
)

// String names the fate.
func (f Fate) String() string {
	switch f {
	case Delivered:
		return "delivered"
	case QueueDrop:
		return "queue-drop"
	case Lost:
		return "lost"
	}
	return "fate?"
}

// LinkStats counts what one link direction did. Bytes are datagram sizes.
type LinkStats struct {
	Sent, SentBytes                 uint64 // offered to the link
	QueueDropped, QueueDroppedBytes uint64 // tail-dropped by the queue
	Lost, LostBytes                 uint64 // taken by the loss model
	Delivered, DeliveredBytes       uint64 // left the link (or will)
	// QueueDelay holds the time each packet that entered the bottleneck
	// waited before its transmission started.
	QueueDelay DelayHistogram
}

// Link is one direction of a path as a sans-IO model: it is told when a
// packet is offered and answers when it arrives or why it does not. It keeps
// no packets, only the time the bottleneck becomes idle, so the simulator
// and a real-time relay can both drive it. Not safe for concurrent use.
type Link struct {
	cfg   LinkConfig
	rng   *rand.Rand
	loss  lossState
	stats LinkStats
	// busyUntil is when the bottleneck finishes the last accepted packet.
	busyUntil time.Time
	// inflight are the datagrams on their way, in arrival order
	// (Sim.pushArrival).
	inflight arrivals
	// lastArrival keeps deliveries in order when Reorder is off.
	lastArrival time.Time
}

// NewLink returns a link seeded with seed; equal seeds and equal calls give
// equal answers.
func NewLink(cfg LinkConfig, seed uint64) *Link {
	l := &Link{rng: rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))}
	l.SetConfig(cfg)
	return l
}

// Config returns the link's current configuration.
func (l *Link) Config() LinkConfig { return l.cfg }

// SetConfig changes the link's parameters from the next packet on. Packets
// already accepted keep their arrival times; the Gilbert-Elliott state is
// kept when the model stays Gilbert-Elliott.
func (l *Link) SetConfig(cfg LinkConfig) {
	l.cfg = cfg
	bad := l.loss.bad && cfg.Loss.Kind == LossGilbertElliott
	l.loss = lossState{model: cfg.Loss, bad: bad}
}

// Stats returns a copy of the counters. The queue-delay histogram shares
// its buckets with the link; read it before the link goes on.
func (l *Link) Stats() LinkStats { return l.stats }

// QueueDelay gives direct access to the queueing-delay histogram.
func (l *Link) QueueDelay() *DelayHistogram { return &l.stats.QueueDelay }

// Backlog is the number of bytes queued or in transmission at now.
func (l *Link) Backlog(now time.Time) int {
	if l.cfg.Rate <= 0 || !l.busyUntil.After(now) {
		return 0
	}
	return int(l.busyUntil.Sub(now).Seconds() * l.cfg.Rate / 8)
}

// Enqueue offers a packet of size bytes at now. For a Delivered packet
// arrival is when it reaches the far end; otherwise arrival is zero.
func (l *Link) Enqueue(now time.Time, size int) (arrival time.Time, fate Fate) {
	l.stats.Sent++
	l.stats.SentBytes += uint64(size)
	if l.cfg.Placement == LossBeforeBottleneck && l.loss.lose(l.rng) {
		return l.lost(size)
	}
	exit, ok := l.bottleneck(now, size)
	if !ok {
		l.stats.QueueDropped++
		l.stats.QueueDroppedBytes += uint64(size)
		return time.Time{}, QueueDrop
	}
	if l.cfg.Placement == LossAfterBottleneck && l.loss.lose(l.rng) {
		return l.lost(size)
	}
	arrival = exit.Add(l.propagation())
	if !l.cfg.Reorder {
		if arrival.Before(l.lastArrival) {
			arrival = l.lastArrival
		}
		l.lastArrival = arrival
	}
	l.stats.Delivered++
	l.stats.DeliveredBytes += uint64(size)
	return arrival, Delivered
}

func (l *Link) lost(size int) (time.Time, Fate) {
	l.stats.Lost++
	l.stats.LostBytes += uint64(size)
	return time.Time{}, Lost
}

// bottleneck queues the packet behind those already accepted and returns
// when its last bit leaves, or false when the queue is full.
func (l *Link) bottleneck(now time.Time, size int) (time.Time, bool) {
	if l.cfg.Rate <= 0 {
		return now, true
	}
	start := now
	if l.busyUntil.After(now) {
		if q := l.cfg.QueueBytes; q > 0 && l.Backlog(now)+size > q {
			return time.Time{}, false
		}
		start = l.busyUntil
	}
	l.stats.QueueDelay.Add(start.Sub(now))
	tx := time.Duration(float64(size) * 8 * float64(time.Second) / l.cfg.Rate)
	l.busyUntil = start.Add(tx)
	return l.busyUntil, true
}

// propagation draws the delay for one packet.
func (l *Link) propagation() time.Duration {
	d := l.cfg.Delay
	if j := l.cfg.Jitter; j > 0 {
		d += time.Duration(l.rng.Int64N(int64(2*j)+1)) - j
		if d < 0 {
			d = 0
		}
	}
	return d
}
