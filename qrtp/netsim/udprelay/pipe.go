package udprelay

import (
	"container/heap"
	"sync"
	"time"

	"github.com/qrtn/qrtn/qrtp/netsim"
)

// packet is one datagram waiting in a pipe's delay line.
type packet struct {
	at   time.Time
	seq  uint64
	buf  *[]byte
	send func(b []byte) error // writes b to the right socket and address
}

// delayLine is a min-heap of packets by (at, seq).
type delayLine []*packet

func (d delayLine) Len() int { return len(d) }
func (d delayLine) Less(i, j int) bool {
	return d[i].at.Before(d[j].at) || (d[i].at.Equal(d[j].at) && d[i].seq < d[j].seq)
}
func (d delayLine) Swap(i, j int) { d[i], d[j] = d[j], d[i] }
func (d *delayLine) Push(x any)   { *d = append(*d, x.(*packet)) }
func (d *delayLine) Pop() any {
	old := *d
	p := old[len(old)-1]
	old[len(old)-1] = nil
	*d = old[:len(old)-1]
	return p
}

// pipe applies one direction's link model in real time: Enqueue asks the
// netsim.Link when the packet arrives, and the pipe's goroutine writes it
// out at that moment.
type pipe struct {
	mu       sync.Mutex
	link     *netsim.Link
	line     delayLine
	seq      uint64
	maxLine  int
	overflow uint64 // dropped because the delay line was full
	written  uint64
	writeErr uint64
	readLag  netsim.DelayHistogram
	late     netsim.DelayHistogram
	last     time.Time // the latest arrival time given to the link

	wake chan struct{}
	pool *sync.Pool
}

func newPipe(cfg netsim.LinkConfig, seed uint64, maxLine int, pool *sync.Pool) *pipe {
	return &pipe{
		link:    netsim.NewLink(cfg, seed),
		maxLine: maxLine,
		wake:    make(chan struct{}, 1),
		pool:    pool,
	}
}

// enqueue offers b (copied) to the link as arrived lag before now (when
// the kernel received it, read lag < 0: unknown); send is called with the
// bytes when the packet is due.
func (p *pipe) enqueue(now time.Time, lag time.Duration, b []byte, send func([]byte) error) {
	p.mu.Lock()
	arrived := now
	if lag >= 0 {
		p.readLag.Add(lag)
		arrived = now.Add(-lag)
	}
	// The link's clock never goes back (sockets of different clients are
	// read by different goroutines).
	if arrived.Before(p.last) {
		arrived = p.last
	}
	p.last = arrived
	at, fate := p.link.Enqueue(arrived, len(b))
	if fate != netsim.Delivered {
		p.mu.Unlock()
		return
	}
	if len(p.line) >= p.maxLine {
		p.overflow++
		p.mu.Unlock()
		return
	}
	buf := p.pool.Get().(*[]byte)
	if cap(*buf) < len(b) {
		*buf = make([]byte, len(b))
	}
	*buf = append((*buf)[:0], b...)
	p.seq++
	heap.Push(&p.line, &packet{at: at, seq: p.seq, buf: buf, send: send})
	first := p.line[0].seq == p.seq
	p.mu.Unlock()
	if first {
		select {
		case p.wake <- struct{}{}:
		default:
		}
	}
}

// run writes packets out as they come due, until done is closed.
func (p *pipe) run(done <-chan struct{}) {
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	for {
		p.mu.Lock()
		var due *packet
		var wait time.Duration = -1
		if len(p.line) > 0 {
			if d := time.Until(p.line[0].at); d <= 0 {
				due = heap.Pop(&p.line).(*packet)
			} else {
				wait = d
			}
		}
		p.mu.Unlock()
		if due != nil {
			late := time.Since(due.at)
			err := due.send(*due.buf)
			p.pool.Put(due.buf)
			p.countWrite(err, late)
			continue
		}
		if wait >= 0 {
			timer.Reset(wait)
		}
		select {
		case <-done:
			return
		case <-p.wake:
		case <-timer.C:
		}
	}
}

// setConfig changes the link model from the next packet on.
func (p *pipe) setConfig(cfg netsim.LinkConfig) {
	p.mu.Lock()
	p.link.SetConfig(cfg)
	p.mu.Unlock()
}

// stats snapshots the pipe's counters.
func (p *pipe) stats() DirStats {
	p.mu.Lock()
	defer p.mu.Unlock()
	st := p.link.Stats()
	st.QueueDelay = p.link.QueueDelay().Clone()
	return DirStats{Link: st, Overflow: p.overflow, Written: p.written, WriteErrors: p.writeErr, InLine: len(p.line),
		ReadLag: p.readLag.Clone(), WriteLate: p.late.Clone()}
}

// countWrite records the outcome of one socket write, late after its due
// time.
func (p *pipe) countWrite(err error, late time.Duration) {
	p.mu.Lock()
	p.late.Add(late)
	if err != nil {
		p.writeErr++
	} else {
		p.written++
	}
	p.mu.Unlock()
}

// maxReadLag bounds the read lag trusted from a kernel stamp (a clock step
// must not move a datagram's arrival far into the past).
const maxReadLag = time.Second

// readLag is how long the datagram whose control data is oob waited in the
// socket before it was read at now, or -1 when the kernel did not say.
func readLag(now time.Time, oob []byte) time.Duration {
	at, ok := rxStamp(oob)
	if !ok {
		return -1
	}
	return min(max(now.Sub(at), 0), maxReadLag)
}
