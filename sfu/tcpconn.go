package sfu

import (
	"net"
	"sync"
	"sync/atomic"
	"time"
)

// ICE-TCP connections write through a queue of their own.
//
// Fan-out is synchronous: a receiver's goroutine writes each packet to every
// down-track in turn, down to the socket. Over UDP a write does not wait for
// the peer. Over ICE-TCP it does: pion writes each framed packet straight to
// the TCP connection, so one subscriber whose TCP window closed (a stalled
// network, a suspended laptop) blocked the write, and with it every other
// subscriber of the track, the publisher's reader and the room loop waiting
// on the down-track. A queued conn takes the write at once and a goroutine
// of its own waits on the peer; a full queue drops whole frames, which the
// subscriber sees as loss (NACK and key frames repair it), and a peer that
// takes nothing for tcpStallTimeout is closed, so ICE fails and the client
// reconnects. The UDP path is unchanged and pays nothing.
const (
	// tcpQueue frames are queued per connection (~ 300 KB of video).
	tcpQueue = 256
	// tcpStallTimeout bounds one socket write.
	tcpStallTimeout = 5 * time.Second
)

// queuedListener wraps the ICE-TCP listener so that every accepted
// connection writes through a queue.
type queuedListener struct {
	net.Listener
	drops *atomic.Uint64 // frames dropped on full queues
}

// Accept returns the next connection, queued.
func (l queuedListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return newQueuedConn(c, tcpQueue, l.drops), nil
}

// queuedConn is a net.Conn whose writes are queued and written by its own
// goroutine, which Close stops and waits for. Each Write must be one whole
// frame (pion writes a framed packet per call), so that dropping a write
// never cuts a frame.
type queuedConn struct {
	net.Conn
	q     chan []byte
	drops *atomic.Uint64

	stop      chan struct{}
	closeOnce sync.Once
	closeErr  error
	wg        sync.WaitGroup
}

func newQueuedConn(c net.Conn, size int, drops *atomic.Uint64) *queuedConn {
	qc := &queuedConn{Conn: c, q: make(chan []byte, size), drops: drops, stop: make(chan struct{})}
	qc.wg.Add(1)
	go qc.writer()
	return qc
}

// Write queues a copy of b and returns at once; a full queue drops it.
func (c *queuedConn) Write(b []byte) (int, error) {
	select {
	case <-c.stop:
		return 0, net.ErrClosed
	default:
	}
	select {
	case c.q <- append([]byte(nil), b...):
	default:
		c.drops.Add(1)
	}
	return len(b), nil
}

func (c *queuedConn) writer() {
	defer c.wg.Done()
	for {
		select {
		case <-c.stop:
			return
		case b := <-c.q:
			_ = c.Conn.SetWriteDeadline(time.Now().Add(tcpStallTimeout))
			if _, err := c.Conn.Write(b); err != nil {
				// A stalled or broken peer: closing makes pion's reader
				// fail, and the subscriber's ICE with it.
				c.shut()
				return
			}
		}
	}
}

// Close stops the writer, closes the connection and waits for the writer.
func (c *queuedConn) Close() error {
	c.shut()
	c.wg.Wait()
	return c.closeErr
}

// shut stops the writer and closes the connection, once.
func (c *queuedConn) shut() {
	c.closeOnce.Do(func() {
		close(c.stop)
		c.closeErr = c.Conn.Close()
	})
}
