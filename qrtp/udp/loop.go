package udp

import (
	"time"
)

// maxIdleSpins is how many polls in a row may find the core due again at
// once without it sending anything before the loop sleeps a tick anyway;
// it keeps a core that misreports its timer from burning a CPU.
const maxIdleSpins = 64

// dropCheckEvery is how often the loop looks for events the core dropped.
const dropCheckEvery = 100 * time.Millisecond

// loop is the event loop: it polls the core whenever it is due or woken,
// and writes what the core produced.
func (t *Transport) loop() {
	defer t.wg.Done()
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	defer timer.Stop()
	for {
		select {
		case <-t.closing:
			t.shutdown()
			return
		case <-t.wake:
		case <-timer.C:
		}
		for spins := 0; ; spins++ {
			next, sent := t.step()
			if sent {
				spins = 0
			}
			if next.IsZero() {
				timer.Stop()
				break
			}
			if wait := time.Until(next); wait > 0 {
				timer.Reset(wait)
				break
			}
			if spins >= maxIdleSpins {
				timer.Reset(time.Millisecond)
				break
			}
			select {
			case <-t.closing:
				t.shutdown()
				return
			default:
			}
		}
	}
}

// step polls the core once, dispatches its events, writes its datagrams
// and returns when the core next wants to be polled and whether it sent.
func (t *Transport) step() (next time.Time, sent bool) {
	t.mu.Lock()
	now := t.clock(time.Now())
	t.ep.Poll(now, t.tx.add)
	t.dispatch()
	if now.Sub(t.droppedAt) >= dropCheckEvery {
		t.droppedAt = now
		for _, c := range t.conns {
			c.checkDropped()
		}
	}
	next = t.ep.NextTimeout()
	t.mu.Unlock()
	sent = t.tx.len() > 0
	t.sock.flush(&t.tx)
	return next, sent
}

// shutdown closes every connection, sends the CONNECTION_CLOSEs, wakes
// every waiter and closes the socket (which stops the reader).
func (t *Transport) shutdown() {
	t.mu.Lock()
	t.ep.Close()
	t.ep.Poll(t.clock(time.Now()), t.tx.add)
	t.dispatch()
	t.stopped = true
	for _, c := range t.conns {
		c.fail(errTransportStopped)
	}
	clear(t.conns)
	t.mu.Unlock()
	t.sock.flush(&t.tx)
	t.sock.close()
}

// read is the socket reader: it hands every datagram to the core.
func (t *Transport) read() {
	defer t.wg.Done()
	buf := make([]byte, readBuffer)
	oob := make([]byte, controlSpace)
	var errRun int
	for {
		n, seg, from, err := t.sock.read(buf, oob)
		if err != nil {
			if isClosed(err) {
				return
			}
			// ICMP errors and the like: the datagram is lost, nothing
			// more. A run of them gets a pause so a broken socket
			// cannot spin the reader.
			t.sock.readErrors.Add(1)
			if errRun++; errRun > 16 {
				time.Sleep(time.Millisecond)
			}
			continue
		}
		errRun = 0
		// The arrival time is taken before the lock: waiting for it must
		// not count as network delay in the core's RTT samples.
		arrived := time.Now()
		t.mu.Lock()
		now := t.clock(arrived)
		for off := 0; off < n; off += seg {
			t.ep.HandleDatagram(now, from, buf[off:min(off+seg, n)])
		}
		t.dispatch()
		t.mu.Unlock()
		t.wakeLoop()
	}
}

// clock returns at, or the latest time already handed to the core if that
// is later: the core must never see time go backwards, and a datagram's
// arrival time is read before the lock while a Poll may take the lock
// first with a later time. Called with t.mu held.
func (t *Transport) clock(at time.Time) time.Time {
	if at.Before(t.lastNow) {
		return t.lastNow
	}
	t.lastNow = at
	return at
}

// dispatch moves new connections to the accept queue and turns the
// events of the connections that have some (Endpoint.Ready) into signals:
// the cost follows the traffic, not the number of connections. Called
// with t.mu held.
func (t *Transport) dispatch() {
	for qc := t.ep.Accept(); qc != nil; qc = t.ep.Accept() {
		c := newConn(t, qc, true)
		t.conns[qc] = c
		t.acceptQ = append(t.acceptQ, c)
		signal(t.acceptCh)
	}
	for _, qc := range t.ep.Ready() {
		if c := t.conns[qc]; c != nil && !c.dispatch() {
			delete(t.conns, qc)
		}
	}
}
