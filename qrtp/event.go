package qrtp

// EventKind names what happened on a connection.
type EventKind uint8

const (
	// EventConnected: the handshake completed; data flows in both directions.
	EventConnected EventKind = iota + 1
	// EventStreamOpened: the peer opened StreamID (also queued for AcceptStream).
	EventStreamOpened
	// EventStreamReadable: StreamID has bytes, messages or datagrams to read
	// (or its end). Raised once until the application reads.
	EventStreamReadable
	// EventStreamWritable: StreamID has send-buffer space again after a
	// write returned ErrBufferFull.
	EventStreamWritable
	// EventStreamReset: the peer reset StreamID's sending half.
	EventStreamReset
	// EventMessageDelivered: the peer acknowledged every byte of message Seq.
	EventMessageDelivered
	// EventMessageExpired: message Seq of StreamID missed its deadline and
	// was dropped. Raised at both ends: at the sender when it gives up, at
	// the receiver when MESSAGE_EXPIRED arrives for a message it lacks.
	EventMessageExpired
	// EventClosed: the connection is closed; Err says why.
	EventClosed
	// EventStreamsAvailable: the peer allows more streams, after an
	// OpenStream failed with ErrStreamLimit.
	EventStreamsAvailable
)

func (k EventKind) String() string {
	switch k {
	case EventConnected:
		return "connected"
	case EventStreamOpened:
		return "stream_opened"
	case EventStreamReadable:
		return "stream_readable"
	case EventStreamWritable:
		return "stream_writable"
	case EventStreamReset:
		return "stream_reset"
	case EventMessageDelivered:
		return "message_delivered"
	case EventMessageExpired:
		return "message_expired"
	case EventClosed:
		return "closed"
	case EventStreamsAvailable:
		return "streams_available"
	}
	return "unknown"
}

// Event is one thing that happened on a connection, read with PollEvent.
type Event struct {
	Kind     EventKind
	StreamID uint64
	Seq      uint64 // message events
	Err      error  // EventClosed
}

// eventQueue is a bounded FIFO; what does not fit is counted, not kept.
type eventQueue struct {
	q       []Event
	head    int
	max     int
	dropped uint64
	// notify runs on every push (even of a dropped event), so the
	// endpoint can list the connections that have something to report.
	notify func()
}

func (e *eventQueue) push(ev Event) {
	if e.notify != nil {
		e.notify()
	}
	if len(e.q)-e.head >= e.max {
		e.dropped++
		return
	}
	if e.head > 0 && e.head == len(e.q) {
		e.q, e.head = e.q[:0], 0
	}
	e.q = append(e.q, ev)
}

func (e *eventQueue) pop() (Event, bool) {
	if e.head == len(e.q) {
		return Event{}, false
	}
	ev := e.q[e.head]
	e.q[e.head] = Event{}
	e.head++
	if e.head > 1024 && e.head*2 > len(e.q) {
		n := copy(e.q, e.q[e.head:])
		e.q, e.head = e.q[:n], 0
	}
	return ev, true
}
