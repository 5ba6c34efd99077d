package trunk

import (
	"errors"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/qrtn/qrtn/qrtp"
	"github.com/qrtn/qrtn/sfu"
)

// peer is the trunk to one configured node: at most one QRTP connection,
// its control stream, the media streams on it, and what was subscribed
// across it. The Core owns every peer; a peer knows its connection only.
type peer struct {
	info   peerInfo
	idx    int // in Core.peers
	dialer bool

	conn     *qrtp.Conn
	ctrl     *qrtp.Stream
	up       bool // connected and hello received
	events   bool // conn may have events to read (Core.markReady)
	upSince  time.Time
	ctrlIn   []byte // received control bytes not yet parsed
	ctrlOut  []byte // control frames waiting for send-buffer space
	hello    Hello
	dialAt   time.Time
	backoff  time.Duration
	downAt   time.Time
	downWhy  string
	lastUp   time.Time // when the trunk was last up (zero: never)
	connects uint64
	// lastMedia is when media last came from the peer; suspect marks a
	// feeding trunk silent since suspectAt (failover.go).
	lastMedia time.Time
	suspect   bool
	suspectAt time.Time

	// out are the media streams this node sends on, per flow; in maps the
	// peer's media streams to flows (from its Bind messages), and pending
	// holds media that arrived on a stream before its Bind.
	out     map[flowKey]*outStream
	in      map[uint64]inStream
	pending map[uint64][][]byte

	// recvSubs is what the peer subscribed to here; sentSubs what we
	// subscribed to there (per track: layer mask and path).
	recvSubs map[TrackRef]Subscribe
	sentSubs map[TrackRef]Subscribe
	// rejected holds when the peer refused a subscription (Unavailable),
	// so that it is not asked again before rejectHold passed. Only tracks
	// in sentSubs get an entry, and entries are pruned after the hold.
	rejected map[TrackRef]time.Time
	// interest: the rooms a scoped peer declared (flood_scope.go).
	interest map[string]bool

	metrics peerMetrics
}

type outStream struct {
	s              *qrtp.Stream
	packets, bytes uint64
	drops          uint64
	// cut takes the temporal layers the peer does not want out of a VP9
	// or AV1 stream (nil: other codecs; temporal.go).
	cut *sfu.TemporalCut
	// latency is the room scenario's Latency: the stream's FECLatency is
	// half the trunk's RTT plus it (expiry.go keeps it current).
	latency time.Duration
}

type inStream struct {
	key  flowKey
	kind string
	// f caches the flow of key (nil: none) while gen is the flow
	// table's: one map lookup per stream and table change, not per packet.
	f   *flow
	gen uint64
}

// maxPendingMedia bounds what is held for a stream whose Bind has not
// arrived yet (the control message is normally ahead of the media).
const maxPendingMedia = 64

// maxCtrlBacklog: a peer that does not read its control stream for this
// much is broken; the trunk is closed and re-dialled.
const maxCtrlBacklog = 8 << 20

func sortPeers(ps []*peer) {
	slices.SortFunc(ps, func(a, b *peer) int { return strings.Compare(a.info.Name, b.info.Name) })
}

func (p *peer) reset() {
	p.conn, p.ctrl, p.up = nil, nil, false
	p.suspect = false
	p.ctrlIn, p.ctrlOut = nil, nil
	p.hello = Hello{}
	p.out = map[flowKey]*outStream{}
	p.in = map[uint64]inStream{}
	p.pending = map[uint64][][]byte{}
	p.recvSubs = map[TrackRef]Subscribe{}
	p.sentSubs = map[TrackRef]Subscribe{}
	p.rejected = map[TrackRef]time.Time{}
	p.interest = map[string]bool{}
	p.metrics.lastSent, p.metrics.lastLost = 0, 0
}

// errCtrlBacklog: the peer does not read its control stream.
var errCtrlBacklog = errors.New("control backlog")

// send queues one control message. Messages go out in order; what the
// stream cannot take now waits in ctrlOut.
func (p *peer) send(m message) error {
	if p.ctrl == nil {
		return nil
	}
	n := len(p.ctrlOut)
	b, err := appendFrame(p.ctrlOut, m)
	if err != nil {
		return err
	}
	p.ctrlOut = b
	k := m.kind()
	p.metrics.ctrl[k].Msgs++
	p.metrics.ctrl[k].Bytes += uint64(len(b) - n)
	return p.flush()
}

// sendFrame queues one encoded control frame of a kind.
func (p *peer) sendFrame(kind int, frame []byte) error {
	if p.ctrl == nil {
		return nil
	}
	p.ctrlOut = append(p.ctrlOut, frame...)
	p.metrics.ctrl[kind].Msgs++
	p.metrics.ctrl[kind].Bytes += uint64(len(frame))
	return p.flush()
}

// flush writes queued control bytes while the stream takes them (it
// copies them). What is left moves to the buffer's start, so that the
// buffer is reused rather than reallocated by every message.
func (p *peer) flush() error {
	out, w, closing := p.ctrlOut, 0, false
	for w < len(out) && p.ctrl != nil {
		n, err := p.ctrl.Write(out[w:])
		w += n
		if errors.Is(err, qrtp.ErrBufferFull) || n == 0 {
			break
		}
		if err != nil {
			closing = true // the connection is closing; its event follows
			break
		}
	}
	if w > 0 {
		out = out[:copy(out, out[w:])]
	}
	switch {
	case len(out) == 0 && cap(out) > 4*ctrlReadChunk:
		p.ctrlOut = nil // one burst made it large: let it go
	case len(out) > maxCtrlBacklog && !closing:
		p.ctrlOut = out
		return errCtrlBacklog
	default:
		p.ctrlOut = out
	}
	return nil
}

// readFrames reads the control stream and calls handle for every complete
// frame, until the stream is empty or handle returns false (the trunk was
// closed). The error says why the stream cannot be read any more.
//
// frame is the message's whole encoded frame, valid during the call: a
// record flooded on is sent as it came, not encoded again. A frame skip
// reports as no news is counted and dropped without being decoded.
func (p *peer) readFrames(skip func(frame []byte) bool, handle func(m message, frame []byte) bool) error {
	for p.ctrl != nil {
		// Read straight into ctrlIn's spare room, 16 kB at a time.
		p.ctrlIn = slices.Grow(p.ctrlIn, ctrlReadChunk)
		l := len(p.ctrlIn)
		n, err := p.ctrl.Read(p.ctrlIn[l : l+ctrlReadChunk])
		p.ctrlIn = p.ctrlIn[:l+n]
		if err == io.EOF || (err != nil && n == 0) {
			return errors.New("control stream ended")
		}
		if n == 0 {
			break
		}
	}
	// in is ctrlIn from pos on: frames are consumed by moving pos, and
	// what is left (a partial frame) moves to the buffer's start, so the
	// buffer is reused rather than reallocated by every read.
	in, pos := p.ctrlIn, 0
	defer func() {
		if cap(in) == 0 || cap(p.ctrlIn) != cap(in) || &p.ctrlIn[:cap(in)][0] != &in[:cap(in)][0] {
			return // nothing read, or reset while handling a frame
		}
		k := copy(in, in[pos:])
		p.ctrlIn = in[:k]
		if k == 0 && cap(in) > 4*ctrlReadChunk {
			p.ctrlIn = nil // one large burst: let it go
		}
	}()
	for p.conn != nil {
		n, _, err := frameLen(in[pos:])
		if err == nil && n > 0 && skip(in[pos:pos+n]) {
			pos += n
			p.metrics.ctrlRecv++
			continue
		}
		m, n, err := parseFrame(in[pos:])
		if err != nil {
			p.metrics.controlErrors++
			return err
		}
		if n == 0 {
			break
		}
		frame := in[pos : pos+n]
		pos += n
		p.metrics.ctrlRecv++
		if !handle(m, frame) {
			return nil
		}
	}
	return nil
}

// ctrlReadChunk is how much one read of the control stream asks for.
const ctrlReadChunk = 16 << 10
