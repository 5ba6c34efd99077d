package signaling

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/netip"
	"sync"

	"github.com/gorilla/websocket"
	"github.com/qrtn/qrtn/qoe"
	"github.com/qrtn/qrtn/sfu"
	"golang.org/x/time/rate"
)

// The `quality` message (PROTOCOL.md, "Quality reports"): clients report
// what they receive and send every few seconds. Signaling checks each
// report (qoe.ClientReport.Check), limits how often a session may send
// one, and hands the good ones to the node's QualitySink with the session
// they belong to. Nothing here waits on the quality platform.

// Error codes of quality reports. The connection is kept.
const (
	// CodeBadReport: a quality report that is malformed, oversized or out
	// of bounds; it counts towards the bad-message limit.
	CodeBadReport = "bad_report"
	// CodeReportRateLimited: a quality report sooner than the limit
	// allows; it is dropped.
	CodeReportRateLimited = "report_rate_limited"
)

// Report limits: a session may send one report per second sustained, with
// a burst of three (clients send one every five seconds).
const (
	reportRate  = 1
	reportBurst = 3
)

// SessionInfo names the session a quality record belongs to.
type SessionInfo struct {
	ID, Room, Participant, Name string
	// Addr is the client's address when it joined (the websocket's peer).
	Addr netip.Addr
}

// QualitySink receives what the quality platform records of sessions:
// their start and end, reconnects, the participant's SFU events (layer
// changes among them) and checked client reports. Its methods are called
// from signaling and SFU goroutines, with SFU locks held for Event: they
// must return at once and never call back into signaling or the SFU.
type QualitySink interface {
	SessionStarted(s SessionInfo)
	SessionResumed(s SessionInfo)
	SessionEnded(s SessionInfo, reason error)
	SessionEvent(s SessionInfo, ev sfu.Event)
	SessionReport(s SessionInfo, r *qoe.ClientReport)
}

// qualityMsg is a decoded, checked report.
type qualityMsg struct{ report *qoe.ClientReport }

// errBadReport marks a quality message that fails its checks.
var errBadReport = errors.New("bad quality report")

// decodeQuality parses and checks a report.
func decodeQuality(raw json.RawMessage) (any, error) {
	if len(raw) == 0 {
		return nil, fmt.Errorf("%w: report missing", errBadReport)
	}
	if len(raw) > qoe.MaxReportBytes {
		return nil, fmt.Errorf("%w: report over %d bytes", errBadReport, qoe.MaxReportBytes)
	}
	var r qoe.ClientReport
	if err := json.Unmarshal(raw, &r); err != nil {
		return nil, fmt.Errorf("%w: %v", errBadReport, err)
	}
	if err := r.Check(); err != nil {
		return nil, fmt.Errorf("%w: %v", errBadReport, err)
	}
	return qualityMsg{report: &r}, nil
}

// qualityState is the server's side of reports: the sink and each
// session's report limiter.
type qualityState struct {
	mu       sync.Mutex
	sink     QualitySink
	limiters map[*session]*rate.Limiter
}

// SetQuality connects the quality platform; call it before serving. With
// none, reports are checked and dropped.
func (s *Server) SetQuality(sink QualitySink) {
	s.q.mu.Lock()
	s.q.sink = sink
	s.q.mu.Unlock()
}

func (s *Server) qsink() QualitySink {
	s.q.mu.Lock()
	defer s.q.mu.Unlock()
	return s.q.sink
}

func (se *session) info() SessionInfo {
	return SessionInfo{ID: se.id, Room: se.grant.Room, Participant: se.grant.Identity, Name: se.grant.Name, Addr: se.addr}
}

// remoteAddr is a websocket's peer address (invalid when it has none).
func remoteAddr(ws *websocket.Conn) netip.Addr {
	ap, err := netip.ParseAddrPort(ws.RemoteAddr().String())
	if err != nil {
		return netip.Addr{}
	}
	return ap.Addr().Unmap()
}

func (s *Server) qStarted(se *session) {
	if q := s.qsink(); q != nil {
		q.SessionStarted(se.info())
	}
}

func (s *Server) qResumed(se *session) {
	if q := s.qsink(); q != nil {
		q.SessionResumed(se.info())
	}
}

func (s *Server) qEnded(se *session, reason error) {
	s.q.mu.Lock()
	delete(s.q.limiters, se)
	q := s.q.sink
	s.q.mu.Unlock()
	if q != nil {
		q.SessionEnded(se.info(), reason)
	}
}

func (s *Server) qEvent(se *session, ev sfu.Event) {
	switch ev.(type) {
	case sfu.LayerChanged, sfu.TrackMuted, sfu.PublishLayers:
	default:
		return
	}
	if q := s.qsink(); q != nil {
		q.SessionEvent(se.info(), ev)
	}
}

// quality handles a checked report from the connection's session.
func (c *conn) quality(m qualityMsg) {
	se := c.sess.Load()
	if se == nil {
		return
	}
	s := c.s
	s.q.mu.Lock()
	if s.q.limiters == nil {
		s.q.limiters = map[*session]*rate.Limiter{}
	}
	lim := s.q.limiters[se]
	if lim == nil {
		lim = rate.NewLimiter(reportRate, reportBurst)
		s.q.limiters[se] = lim
	}
	q := s.q.sink
	s.q.mu.Unlock()
	if !lim.Allow() {
		c.fail(CodeReportRateLimited, fmt.Sprintf("more than %d quality report per second: report every few seconds", reportRate), false)
		return
	}
	if q != nil {
		q.SessionReport(se.info(), m.report)
	}
}
