package cc

import (
	"container/heap"
	"math/rand/v2"
	"time"
)

// path is a test fixture that drives one controller through a single
// bottleneck: optional Bernoulli loss before it, a tail-drop FIFO at a fixed
// rate, optional loss after it, a fixed base RTT, one ACK per packet and
// packet-threshold loss detection. It is deliberately tiny: the real
// evaluation runs the QRTP core over qrtp/netsim; this only puts the state
// machines through their transitions in unit tests.
type path struct {
	c          Controller
	mss        int
	rate       float64 // bottleneck, bytes/s
	baseRTT    time.Duration
	buffer     int // bytes the bottleneck queue holds
	lossBefore float64
	lossAfter  float64
	rng        *rand.Rand
	appRate    float64 // bytes/s the application offers; 0 = unlimited
	// crossRate is unresponsive constant-rate traffic (bytes/s) sharing the
	// bottleneck queue; crossSent and crossDropped count its packets.
	crossRate               float64
	nextCross               time.Time
	crossSent, crossDropped int
	// tailDrops counts the controller's packets the full queue dropped.
	tailDrops int

	now        time.Time
	nextSend   time.Time
	linkFree   time.Time // when the bottleneck finishes its queue
	queueBytes []queued  // departure times of queued packets, for occupancy
	pn         uint64
	inFlight   int
	acks       ackHeap
	lostQueue  []Packet // lost, not yet detected
	minRTT     time.Duration
	srtt       time.Duration
	appCredit  float64

	delivered int64 // bytes acked, for throughput checks
	onEvent   func(p *path, e *CongestionEvent)
}

type queued struct {
	departs time.Time
	bytes   int
}

type ackEv struct {
	at   time.Time
	pkt  Packet
	lost bool
}

type ackHeap []ackEv

func (h ackHeap) Len() int           { return len(h) }
func (h ackHeap) Less(i, j int) bool { return h[i].at.Before(h[j].at) }
func (h ackHeap) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *ackHeap) Push(x any)        { *h = append(*h, x.(ackEv)) }
func (h *ackHeap) Pop() any {
	old := *h
	x := old[len(old)-1]
	*h = old[:len(old)-1]
	return x
}

func newPath(c Controller, mbit float64, rtt time.Duration, bufferBDP float64) *path {
	p := &path{
		c: c, mss: 1200, rate: mbit * 1e6 / 8, baseRTT: rtt,
		rng: rand.New(rand.NewPCG(7, 11)), now: t0,
	}
	p.buffer = int(bufferBDP * p.rate * rtt.Seconds())
	return p
}

// queueDelay is the current queueing delay at the bottleneck.
func (p *path) queueDelay() time.Duration {
	if p.linkFree.After(p.now) {
		return p.linkFree.Sub(p.now)
	}
	return 0
}

func (p *path) occupancy() int {
	n := 0
	keep := p.queueBytes[:0]
	for _, q := range p.queueBytes {
		if q.departs.After(p.now) {
			n += q.bytes
			keep = append(keep, q)
		}
	}
	p.queueBytes = keep
	return n
}

func (p *path) send() {
	pkt := Packet{Number: p.pn, Bytes: p.mss, SentTime: p.now}
	p.pn++
	p.inFlight += p.mss
	p.c.OnPacketSent(p.now, SentPacket{Number: pkt.Number, Bytes: p.mss, SentTime: p.now, BytesInFlight: p.inFlight})
	lost := p.rng.Float64() < p.lossBefore
	if !lost && p.occupancy()+p.mss > p.buffer {
		lost = true // tail drop
		p.tailDrops++
	}
	if lost {
		heap.Push(&p.acks, ackEv{at: p.now.Add(p.baseRTT), pkt: pkt, lost: true})
		return
	}
	start := p.now
	if p.linkFree.After(start) {
		start = p.linkFree
	}
	p.linkFree = start.Add(time.Duration(float64(p.mss) / p.rate * 1e9))
	p.queueBytes = append(p.queueBytes, queued{departs: p.linkFree, bytes: p.mss})
	if p.rng.Float64() < p.lossAfter {
		heap.Push(&p.acks, ackEv{at: p.linkFree.Add(p.baseRTT), pkt: pkt, lost: true})
		return
	}
	heap.Push(&p.acks, ackEv{at: p.linkFree.Add(p.baseRTT), pkt: pkt})
}

// sendCross puts one cross-traffic packet into the bottleneck queue.
func (p *path) sendCross() {
	p.crossSent++
	if p.occupancy()+p.mss > p.buffer {
		p.crossDropped++
		return
	}
	start := p.now
	if p.linkFree.After(start) {
		start = p.linkFree
	}
	p.linkFree = start.Add(time.Duration(float64(p.mss) / p.rate * 1e9))
	p.queueBytes = append(p.queueBytes, queued{departs: p.linkFree, bytes: p.mss})
}

// deliver processes one ACK (or the moment a lost packet's ACK would have
// come, which only queues it for detection).
func (p *path) deliver(a ackEv) {
	p.now = a.at
	if a.lost {
		p.lostQueue = append(p.lostQueue, a.pkt)
		return
	}
	rtt := p.now.Sub(a.pkt.SentTime)
	if p.minRTT == 0 || rtt < p.minRTT {
		p.minRTT = rtt
	}
	if p.srtt == 0 {
		p.srtt = rtt
	} else {
		p.srtt = (7*p.srtt + rtt) / 8
	}
	e := &CongestionEvent{
		Acked:         []Packet{a.pkt},
		PriorInFlight: p.inFlight,
		RTT:           RTTStats{Latest: rtt, Min: p.minRTT, Smoothed: p.srtt},
	}
	p.inFlight -= a.pkt.Bytes
	p.delivered += int64(a.pkt.Bytes)
	// Packet threshold 3: a lost packet is detected once a packet sent
	// three later has been acknowledged.
	keep := p.lostQueue[:0]
	for _, l := range p.lostQueue {
		if l.Number+3 <= a.pkt.Number {
			e.Lost = append(e.Lost, l)
			p.inFlight -= l.Bytes
		} else {
			keep = append(keep, l)
		}
	}
	p.lostQueue = keep
	e.BytesInFlight = p.inFlight
	p.c.OnCongestionEvent(p.now, e)
	if p.onEvent != nil {
		p.onEvent(p, e)
	}
}

// run advances the simulation by d, always taking the earliest of the next
// ACK, cross-traffic packet and paced send.
func (p *path) run(d time.Duration) {
	end := p.now.Add(d)
	for p.now.Before(end) {
		next, what := end, ""
		if len(p.acks) > 0 && p.acks[0].at.Before(next) {
			next, what = p.acks[0].at, "ack"
		}
		if p.crossRate > 0 {
			if p.nextCross.IsZero() {
				p.nextCross = p.now
			}
			if p.nextCross.Before(next) {
				next, what = p.nextCross, "cross"
			}
		}
		if p.inFlight+p.mss <= p.c.CongestionWindow() {
			ns := p.nextSend
			if ns.Before(p.now) {
				ns = p.now
			}
			if p.appRate > 0 && p.appCredit < float64(p.mss) {
				// Application data trickles in at appRate.
				wait := time.Duration((float64(p.mss)-p.appCredit)/p.appRate*1e9) + time.Microsecond
				if t := p.now.Add(wait); t.After(ns) {
					ns = t
				}
				p.c.OnAppLimited(p.now, p.inFlight)
			}
			if !ns.After(next) {
				next, what = ns, "send"
			}
		}
		p.advanceApp(next)
		p.now = next
		switch what {
		case "ack":
			p.deliver(heap.Pop(&p.acks).(ackEv))
		case "cross":
			p.sendCross()
			p.nextCross = p.now.Add(time.Duration(float64(p.mss) / p.crossRate * 1e9))
		case "send":
			if p.appRate > 0 && p.appCredit < float64(p.mss) {
				continue // credit is computed to arrive now; recheck
			}
			p.send()
			p.appCredit -= float64(p.mss)
			if r := p.c.PacingRate(); r > 0 {
				p.nextSend = p.now.Add(time.Duration(float64(p.mss) / r * 1e9))
			}
		}
	}
}

func (p *path) advanceApp(to time.Time) {
	if p.appRate > 0 && to.After(p.now) {
		p.appCredit = min(p.appCredit+p.appRate*to.Sub(p.now).Seconds(), 64*float64(p.mss))
	}
}

// goodput measures the delivery rate (bytes/s) over the next d.
func (p *path) goodput(d time.Duration) float64 {
	before := p.delivered
	p.run(d)
	return float64(p.delivered-before) / d.Seconds()
}
