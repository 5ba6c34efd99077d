package trunk

import (
	"errors"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/qrtn/qrtn/qrtp"
)

// peer is the trunk to one configured node: at most one QRTP connection,
// its control stream, the media streams on it, and what was subscribed
// across it. The Core owns every peer; a peer knows its connection only.
type peer struct {
	info   peerInfo
	dialer bool

	conn     *qrtp.Conn
	ctrl     *qrtp.Stream
	up       bool // connected and hello received
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

	metrics peerMetrics
}

type outStream struct {
	s     *qrtp.Stream
	bytes uint64
	drops uint64
}

type inStream struct {
	key  flowKey
	kind string
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

// flush writes queued control bytes while the stream takes them.
func (p *peer) flush() error {
	for len(p.ctrlOut) > 0 && p.ctrl != nil {
		n, err := p.ctrl.Write(p.ctrlOut)
		p.ctrlOut = p.ctrlOut[n:]
		if errors.Is(err, qrtp.ErrBufferFull) || n == 0 {
			break
		}
		if err != nil {
			return nil // the connection is closing; its event follows
		}
	}
	if len(p.ctrlOut) == 0 {
		p.ctrlOut = nil
	} else if len(p.ctrlOut) > maxCtrlBacklog {
		return errCtrlBacklog
	}
	return nil
}

// readFrames reads the control stream and calls handle for every complete
// frame, until the stream is empty or handle returns false (the trunk was
// closed). The error says why the stream cannot be read any more.
//
// frame is the message's whole encoded frame, valid during the call: a
// record flooded on is sent as it came, not encoded again.
func (p *peer) readFrames(handle func(m message, frame []byte) bool) error {
	var buf [16 << 10]byte
	for p.ctrl != nil {
		n, err := p.ctrl.Read(buf[:])
		p.ctrlIn = append(p.ctrlIn, buf[:n]...)
		if err == io.EOF || (err != nil && n == 0) {
			return errors.New("control stream ended")
		}
		if n == 0 {
			break
		}
	}
	for p.conn != nil {
		m, n, err := parseFrame(p.ctrlIn)
		if err != nil {
			p.metrics.controlErrors++
			return err
		}
		if n == 0 {
			break
		}
		frame := p.ctrlIn[:n]
		p.ctrlIn = p.ctrlIn[n:]
		p.metrics.ctrlRecv++
		if !handle(m, frame) {
			return nil
		}
	}
	if len(p.ctrlIn) == 0 {
		p.ctrlIn = nil
	}
	return nil
}
