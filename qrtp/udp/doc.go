// Package udp runs the sans-IO QRTP core (package qrtp) over a real UDP
// socket: it owns the socket, the goroutines and the clock, and gives
// applications blocking, goroutine-safe connections and streams.
//
// It must not know what the streams carry, nor make protocol decisions:
// handshakes, recovery, pacing and congestion control are the core's. The
// driver only moves datagrams, wakes the core when it asked to be woken,
// and turns core events into unblocked readers and writers.
//
// # Structure
//
// One Transport serves one socket and any number of connections (the core
// demultiplexes by connection ID, so a connection survives its peer's
// address changes). It runs two goroutines:
//
//   - the reader blocks in recvmsg and hands each datagram (or GRO train of
//     datagrams) to Endpoint.HandleDatagram;
//   - the event loop sleeps until the core's NextTimeout, a wake-up from
//     the reader or the application, or Close; then it calls Endpoint.Poll,
//     turns core events into signals for blocked callers, and writes what
//     Poll produced (runs of datagrams to one peer in one GSO sendmsg).
//
// The core is not safe for concurrent use, so one mutex serialises every
// call into it: the reader's HandleDatagram, the loop's Poll, and the
// application's stream operations. Application calls run on the caller's
// goroutine under that mutex (a Write copies into the core's send buffer
// and wakes the loop) instead of travelling to the loop as commands: that
// costs no allocation and no goroutine switch per call, and the loop stays
// the only goroutine that polls and writes, so datagrams leave in the order
// the core produced them. Socket writes happen outside the mutex, so the
// reader and the application make progress while the loop is in sendmsg.
//
// Goroutines belong to the Transport and stop when it is closed or the
// context given to Listen or Dial is done. Closing sends CONNECTION_CLOSE
// on every open connection before the socket closes.
//
// # Time
//
// The driver is the only place that calls time.Now. Go's timers sleep at
// least about a millisecond when the process is otherwise idle, so the
// driver widens the pacer's burst allowance to cover that granularity
// (see Listen); a finer sleep would cost a spinning core.
package udp
