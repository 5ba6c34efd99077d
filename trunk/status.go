package trunk

import (
	"encoding/json"
	"net/http"
	"slices"
	"sort"
	"time"

	"github.com/qrtn/qrtn/qrtp/udp"
)

// counters are the Core's own event counts.
type counters struct {
	trunkFailures, loopsRefused uint64
	unwanted, keyframes         uint64
	roomRequests, suspects      uint64
	stalls                      uint64 // Polls that ran late (stall.go)
}

// Status is a snapshot of the node's view of the network, as the network
// page and /api/network show it.
type Status struct {
	Node   NodeStatus    `json:"node"`
	Time   time.Time     `json:"time"`
	Nodes  []NodeStatus  `json:"nodes"`
	Links  []LinkStatus  `json:"links"`
	Trunks []TrunkStatus `json:"trunks"`
	Flows  []FlowStatus  `json:"flows"`
	Rooms  []RoomStatus  `json:"rooms"`

	TrunkFailures uint64 `json:"trunk_failures"`
	LoopsRefused  uint64 `json:"loops_refused"`
	Keyframes     uint64 `json:"keyframe_requests"`
	SinkDrops     uint64 `json:"sink_drops"`
	// DeliverDrops counts trunk packets dropped before the local SFU
	// because a mirrored track's delivery queue was full.
	DeliverDrops uint64 `json:"deliver_drops"`
	// DataIn and DataOut count participants' data messages received from
	// trunks (first copies) and originated here (data.go).
	DataIn  uint64 `json:"data_in"`
	DataOut uint64 `json:"data_out"`
	// Socket is the QRTP socket's buffer sizes, asked for and granted by
	// the kernel (a grant below the request means bursts beyond it are
	// dropped before QRTP sees them), and SendErrors the datagrams the
	// socket refused. Set by the real-time driver; zero in the simulator.
	Socket     udp.SocketBuffers `json:"socket_buffers"`
	SendErrors uint64            `json:"send_errors"`
}

// NodeStatus is one node as its link state describes it.
type NodeStatus struct {
	Name   string  `json:"name"`
	Region string  `json:"region"`
	Role   string  `json:"role"`
	Load   float64 `json:"load"`
	HTTP   string  `json:"http,omitempty"`
	Self   bool    `json:"self,omitempty"`

	Announce // draining, users, capacity, coordinates (announce.go)
}

// LinkStatus is one direction of a trunk anywhere in the network, from the
// flooded link state.
type LinkStatus struct {
	From      string  `json:"from"`
	To        string  `json:"to"`
	Up        bool    `json:"up"`
	RTTMs     float64 `json:"rtt_ms"`
	Loss      float64 `json:"loss"`
	Bandwidth float64 `json:"bandwidth_bps"`
}

// TrunkStatus is one of this node's trunks, measured here.
type TrunkStatus struct {
	Peer       string    `json:"peer"`
	Region     string    `json:"region"`
	Role       string    `json:"role"`
	Up         bool      `json:"up"`
	Dialer     bool      `json:"dialer"`
	Since      time.Time `json:"since,omitzero"`
	Handshake  string    `json:"handshake,omitempty"`
	Connects   uint64    `json:"connects"`
	DownReason string    `json:"down_reason,omitempty"`

	RTTMs     float64 `json:"rtt_ms"`
	MinRTTMs  float64 `json:"min_rtt_ms"`
	Loss      float64 `json:"loss"`
	Bandwidth float64 `json:"bandwidth_bps"`
	Pacing    float64 `json:"pacing_bps"`
	CWND      int     `json:"cwnd"`
	CC        string  `json:"cc,omitempty"`

	BytesSent          uint64  `json:"bytes_sent"`
	BytesReceived      uint64  `json:"bytes_received"`
	FECBytes           uint64  `json:"fec_bytes"`
	RetransmittedBytes uint64  `json:"retransmitted_bytes"`
	FECRatio           float64 `json:"fec_ratio"`
	RetransmitRatio    float64 `json:"retransmit_ratio"`
	MediaBytesSent     uint64  `json:"media_bytes_sent"`
	MediaBytesReceived uint64  `json:"media_bytes_received"`
	MediaDrops         uint64  `json:"media_drops"`
	TemporalDrops      uint64  `json:"temporal_drops"`
	MessagesExpired    uint64  `json:"messages_expired"`
	// FEC in force towards the peer (K sources, M repairs per group; 0:
	// off), the repair and source packets sent on this connection, the
	// peer's packets this node rebuilt from repairs, and this node's
	// packets the peer rebuilt.
	// InFlight and PTOs: bytes unacknowledged and probe timeouts so far
	// (a trunk stuck with a full window on a lossy link shows here first).
	InFlight         int    `json:"inflight"`
	PTOs             uint64 `json:"ptos"`
	FECK             int    `json:"fec_k"`
	FECM             int    `json:"fec_m"`
	FECRepairs       uint64 `json:"fec_repairs"`
	FECSources       uint64 `json:"fec_sources"`
	FECRecovered     uint64 `json:"fec_recovered"`
	FECPeerRecovered uint64 `json:"fec_peer_recovered"`
	FlowsOut         int    `json:"flows_out"`
	FlowsIn          int    `json:"flows_in"`
}

// FlowStatus is one track layer passing through this node.
type FlowStatus struct {
	Track    string   `json:"track"`
	Room     string   `json:"room"`
	Origin   string   `json:"origin"`
	Layer    int      `json:"layer"`
	Kind     string   `json:"kind"`
	Mode     string   `json:"mode"`
	Upstream string   `json:"upstream"`
	Next     string   `json:"next,omitempty"`
	Standby  string   `json:"standby,omitempty"`
	Path     []string `json:"path"`
	Down     []string `json:"down"`
	Local    bool     `json:"local"`
	Packets  uint64   `json:"packets"`
	Bytes    uint64   `json:"bytes"`
	Switches uint64   `json:"switches"`
	Dups     uint64   `json:"dups"`
	// Outs are what went to each downstream peer (temporal.go).
	Outs []FlowOut `json:"outs,omitempty"`
}

// RoomStatus is a room as the flooded room records describe it.
type RoomStatus struct {
	Room         string         `json:"room"`
	Mode         string         `json:"mode"`
	Participants map[string]int `json:"participants"` // by node
	// Opts are an operator's options for the room, from the node holding
	// it open (command.go).
	Opts *RoomOpts `json:"opts,omitempty"`
}

// statusEvery is how often the snapshot is rebuilt.
const statusEvery = 500 * time.Millisecond

// Status returns the latest snapshot (at most half a second old).
func (t *Trunk) Status() Status { return *t.status.Load() }

// publishStatus rebuilds the snapshot; it runs on the loop.
func (t *Trunk) publishStatus(now time.Time) {
	if old := t.status.Load(); old != nil && now.Sub(old.Time) < statusEvery {
		return
	}
	st := t.core.Status(now)
	st.SinkDrops, st.DeliverDrops = t.drops.sinkDrops.Load(), t.drops.deliverDrops.Load()
	st.Socket, st.SendErrors = t.buffers, t.drops.sendErrors.Load()
	t.status.Store(&st)
}

// Status describes the node's view of the network at now.
func (c *Core) Status(now time.Time) Status {
	st := Status{Time: now, TrunkFailures: c.stats.trunkFailures, LoopsRefused: c.stats.loopsRefused,
		Keyframes: c.stats.keyframes, DataIn: c.data.in, DataOut: c.data.out}
	st.Node = NodeStatus{Name: c.cfg.Name, Region: c.cfg.Region, Role: string(c.cfg.Role), Load: c.load(),
		HTTP: c.http, Self: true, Announce: c.announce}
	for _, ls := range c.ls.all() {
		st.Nodes = append(st.Nodes, NodeStatus{Name: ls.Origin, Region: ls.Region, Role: ls.Role, Load: ls.Load,
			HTTP: ls.HTTP, Self: ls.Origin == c.cfg.Name, Announce: ls.Announce})
		for _, l := range ls.Links {
			st.Links = append(st.Links, LinkStatus{From: ls.Origin, To: l.Peer, Up: l.Up,
				RTTMs: float64(l.RTTMicros) / 1000, Loss: l.Loss, Bandwidth: l.Bandwidth})
		}
	}
	if len(st.Nodes) == 0 {
		st.Nodes = []NodeStatus{st.Node}
	}
	for _, p := range c.peers {
		st.Trunks = append(st.Trunks, trunkStatus(p))
	}
	for _, f := range c.flows.sorted() {
		st.Flows = append(st.Flows, FlowStatus{Track: f.key.track.ID, Room: f.key.track.Room, Origin: f.key.track.Origin,
			Layer: f.key.layer, Kind: f.kind, Mode: string(f.mode), Upstream: f.up, Next: f.next, Standby: f.standby, Path: f.path,
			Down: slices.Clone(f.down), Local: f.local, Packets: f.packets, Bytes: f.bytes, Switches: f.switches, Dups: f.dups,
			Outs: c.flowOuts(f)})
	}
	rooms := map[string]*RoomStatus{}
	for _, rs := range c.rooms.all() {
		if !rs.live() {
			continue
		}
		r := rooms[rs.Room]
		if r == nil {
			r = &RoomStatus{Room: rs.Room, Mode: rs.Mode, Participants: map[string]int{}}
			rooms[rs.Room] = r
		}
		r.Participants[rs.Origin] = len(rs.Participants)
		if rs.Opts != nil {
			r.Mode, r.Opts = rs.Mode, rs.Opts
		}
	}
	for _, r := range rooms {
		st.Rooms = append(st.Rooms, *r)
	}
	sort.Slice(st.Rooms, func(i, j int) bool { return st.Rooms[i].Room < st.Rooms[j].Room })
	return st
}

func trunkStatus(p *peer) TrunkStatus {
	ts := TrunkStatus{Peer: p.info.Name, Region: p.info.Region, Role: string(p.info.Role), Up: p.up,
		Dialer: p.dialer, Connects: p.connects, DownReason: p.downWhy}
	if p.hello.Region != "" {
		ts.Region = p.hello.Region
	}
	m := p.metrics
	st := m.stats
	ts.BytesSent, ts.BytesReceived = m.closed.sent+st.BytesSent, m.closed.received+st.BytesReceived
	ts.FECBytes, ts.RetransmittedBytes = m.closed.fec+st.FECBytesSent, m.closed.retx+st.BytesRetransmitted
	ts.MessagesExpired = m.closed.expired + st.MessagesExpired
	ts.MediaBytesSent, ts.MediaBytesReceived, ts.MediaDrops = m.mediaOut, m.mediaIn, m.mediaDrops
	ts.TemporalDrops = m.temporalDrops
	if ts.BytesSent > 0 {
		ts.FECRatio = float64(ts.FECBytes) / float64(ts.BytesSent)
		ts.RetransmitRatio = float64(ts.RetransmittedBytes) / float64(ts.BytesSent)
	}
	if !p.up {
		return ts
	}
	ts.Since, ts.Handshake, ts.DownReason = p.upSince, p.conn.HandshakeKind(), ""
	ts.RTTMs, ts.MinRTTMs = float64(m.rtt)/1e6, float64(m.minRTT)/1e6
	ts.Loss, ts.Bandwidth, ts.Pacing, ts.CWND = m.loss, m.bandwidth, st.PacingRate*8, st.CWND
	ts.CC = st.Controller.State
	ts.InFlight, ts.PTOs = st.BytesInFlight, st.PTOCount
	ts.FECK, ts.FECM, ts.FECRepairs, ts.FECSources = st.FECK, st.FECM, st.FECPacketsSent, st.FECSourcePackets
	ts.FECRecovered, ts.FECPeerRecovered = st.FECRecovered, st.FECPeerRecovered
	ts.FlowsOut, ts.FlowsIn = len(p.out), len(p.in)
	return ts
}

// APIHandler serves the status snapshot as JSON (GET /api/network).
func (t *Trunk) APIHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Cache-Control", "no-store")
		enc := json.NewEncoder(w)
		enc.SetIndent("", " ")
		_ = enc.Encode(t.Status())
	})
}

// MessageCount is a number of control messages and their bytes (frames
// with their length prefix).
type MessageCount struct {
	Msgs  uint64 `json:"msgs"`
	Bytes uint64 `json:"bytes"`
}

// Counters are a Core's running totals over all its trunks and their
// connections, cheap to read (the simulator reads them often; Status
// builds far more).
type Counters struct {
	// Control is what this node sent on control streams, by message name
	// (hello, lsa, room, sub, bind, pli, unavail).
	Control         map[string]MessageCount `json:"control"`
	ControlReceived uint64                  `json:"control_received"`
	// Trunk bytes sent (whole datagrams), of which FEC repair and
	// retransmitted payload, and the RTP bytes forwarded.
	BytesSent          uint64 `json:"bytes_sent"`
	FECBytes           uint64 `json:"fec_bytes"`
	RetransmittedBytes uint64 `json:"retransmitted_bytes"`
	MediaBytesSent     uint64 `json:"media_bytes_sent"`
	MessagesExpired    uint64 `json:"messages_expired"`
	// Switches counts upstream changes of flows (route changes and
	// losses); TrunkFailures, trunks lost.
	Switches      uint64 `json:"switches"`
	TrunkFailures uint64 `json:"trunk_failures"`
	Keyframes     uint64 `json:"keyframe_requests"`
	Flows         int    `json:"flows"`
	// Downstreams counts (flow, downstream trunk) pairs: the copies of
	// track layers this node sends.
	Downstreams int `json:"downstreams"`
	Nodes       int `json:"nodes"`
	RoomRecords int `json:"room_records"`
}

// Counters returns the Core's running totals.
func (c *Core) Counters() Counters {
	out := Counters{Control: map[string]MessageCount{}, Switches: c.flows.switches,
		TrunkFailures: c.stats.trunkFailures, Keyframes: c.stats.keyframes, Flows: len(c.flows.flows),
		Downstreams: c.flows.downstreams(),
		Nodes:       len(c.ls.entries), RoomRecords: len(c.rooms.records)}
	for _, p := range c.peers {
		m := &p.metrics
		for k, mc := range m.ctrl {
			x := out.Control[kindNames[k]]
			x.Msgs += mc.Msgs
			x.Bytes += mc.Bytes
			out.Control[kindNames[k]] = x
		}
		out.ControlReceived += m.ctrlRecv
		st := m.stats
		if p.conn != nil {
			st = p.conn.Stats()
		}
		out.BytesSent += m.closed.sent + st.BytesSent
		out.FECBytes += m.closed.fec + st.FECBytesSent
		out.RetransmittedBytes += m.closed.retx + st.BytesRetransmitted
		out.MessagesExpired += m.closed.expired + st.MessagesExpired
		out.MediaBytesSent += m.mediaOut
	}
	return out
}
