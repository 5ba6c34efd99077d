// Package qoe holds the records of qrtn's quality platform: what a client
// reports of the media it receives and sends (ClientReport, the `quality`
// message of signaling/PROTOCOL.md, checked here because clients are
// untrusted), and what access nodes and trunk hops record (the Record
// types the store keeps). Its subpackages compute from them: sla (stalls,
// compliance, join time, latency), attrib (where a stall began), alert
// (early warning), store (SQLite and PostgreSQL) and report (the
// investigation a /quality page or `qrtn quality report` shows).
//
// This package is plain data and validation. It knows no database, no
// network and no clock: times are unix milliseconds set by the caller.
package qoe

// Where a stall began (Cause.Where).
const (
	WhereUplink   = "uplink"
	WhereTrunk    = "trunk"
	WhereNode     = "node"
	WhereDownlink = "downlink"
)

// Record is anything the store keeps. The set is closed: the types below.
type Record interface{ isRecord() }

// Call is one participant session on an access node: from the websocket's
// join to its end. A reconnect is a new session of the same participant.
type Call struct {
	Session     string `json:"session"`
	Room        string `json:"room"`
	Participant string `json:"participant"`
	Name        string `json:"name"`
	Node        string `json:"node"`
	Region      string `json:"region"`
	JoinedAt    int64  `json:"joined_at"`
	LeftAt      int64  `json:"left_at,omitempty"` // 0 while in the call
	// Join timings, ms from the start of the join (the token request)
	// as the client measured them; 0 when not (yet) reported.
	TokenMs      int `json:"token_ms"`
	WSMs         int `json:"ws_ms"`
	ICEMs        int `json:"ice_ms"`
	DTLSMs       int `json:"dtls_ms"`
	FirstFrameMs int `json:"first_frame_ms"`
	// JoinMs is the SLA's join time: to the first frame when the client
	// receives video, else to the media connection (DTLS).
	JoinMs int `json:"join_ms"`
	// Network is the client's /24 (IPv4) or /48 (IPv6) prefix, which the
	// scheduler's history groups calls by ("" when unknown).
	Network string `json:"network"`
}

// TrackSample is one report interval of one track a participant receives,
// as its client measured it, stamped by the node that received the report.
type TrackSample struct {
	Session     string `json:"session"`
	Room        string `json:"room"`
	Participant string `json:"participant"` // the subscriber
	Publisher   string `json:"publisher"`
	Track       string `json:"track"`
	Kind        string `json:"kind"`
	Node        string `json:"node"`
	Start       int64  `json:"start"`
	End         int64  `json:"end"`

	Frames          int     `json:"frames"` // decoded in the interval (video)
	FPS             float64 `json:"fps"`
	Freezes         int     `json:"freezes"` // the browser's own freeze count in the interval
	FreezeMs        int     `json:"freeze_ms"`
	JitterBufferMs  float64 `json:"jitter_buffer_ms"`
	PacketsLost     int     `json:"packets_lost"`
	PacketsReceived int     `json:"packets_received"`
	RTTMs           float64 `json:"rtt_ms"`
	Layer           string  `json:"layer"`
	Width           int     `json:"width"`
	Height          int     `json:"height"`
	ConcealedMs     int     `json:"concealed_ms"` // audio
	// E2EMs is the end-to-end latency; E2EEstimate says whether it is
	// estimated from the route (true) or measured from the publisher's
	// timestamps (false).
	E2EMs       float64 `json:"e2e_ms"`
	E2EEstimate bool    `json:"e2e_estimate"`
}

// PublishSample is one report interval of one track a participant sends.
type PublishSample struct {
	Session     string `json:"session"`
	Room        string `json:"room"`
	Participant string `json:"participant"`
	Track       string `json:"track"`
	Kind        string `json:"kind"`
	Node        string `json:"node"`
	Start       int64  `json:"start"`
	End         int64  `json:"end"`
	// Limitation is the encoder's quality limitation: none, cpu,
	// bandwidth or other.
	Limitation   string  `json:"limitation"`
	FPS          float64 `json:"fps"`
	BitrateBps   float64 `json:"bitrate_bps"`
	FractionLost float64 `json:"fraction_lost"` // reported back by the node, 0..1
	RTTMs        float64 `json:"rtt_ms"`
}

// Stall is a time the subscriber's client rendered nothing of a track:
// video for at least 600 ms, audio for at least 200 ms (see package sla).
type Stall struct {
	Session     string `json:"session"`
	Room        string `json:"room"`
	Participant string `json:"participant"`
	Publisher   string `json:"publisher"`
	Track       string `json:"track"`
	Kind        string `json:"kind"`
	Node        string `json:"node"`
	At          int64  `json:"at"`
	DurationMs  int    `json:"duration_ms"`
}

// DownSample is what an access node measured of one track it sends to one
// subscriber over an interval.
type DownSample struct {
	Node        string `json:"node"`
	Room        string `json:"room"`
	Participant string `json:"participant"` // the subscriber
	Publisher   string `json:"publisher"`
	Track       string `json:"track"`
	Kind        string `json:"kind"`
	Start       int64  `json:"start"`
	End         int64  `json:"end"`
	Layer       string `json:"layer"`
	PLIs        int    `json:"plis"`
	NACKs       int    `json:"nacks"`
	// Resent counts the NACKed packets the node resent from its cache:
	// it had them, so they were lost on the way to the subscriber.
	Resent int `json:"resent"`
	// EstimateBps is the subscriber's send-side bandwidth estimate (GCC).
	EstimateBps float64 `json:"estimate_bps"`
	// Loss is the fraction lost towards the subscriber, from its receiver
	// reports, 0..1: the worst report of the sample.
	Loss float64 `json:"loss"`
	// AckLagMs is the most the subscriber's receiver reports lagged behind
	// what the node had sent, in ms: packets the node sent that had not
	// reached the subscriber. Only the downlink makes it grow.
	AckLagMs int `json:"ack_lag_ms"`
	// RTTMs is the round trip to the subscriber the node measured from
	// them (0 before any).
	RTTMs float64 `json:"rtt_ms"`
}

// UpSample is what an access node measured of one track a local publisher
// sends it, over an interval.
type UpSample struct {
	Node        string  `json:"node"`
	Room        string  `json:"room"`
	Participant string  `json:"participant"`
	Track       string  `json:"track"`
	Kind        string  `json:"kind"`
	Start       int64   `json:"start"`
	End         int64   `json:"end"`
	BitrateBps  float64 `json:"bitrate_bps"` // all layers arriving
	Layers      int     `json:"layers"`      // layers arriving
	Packets     int     `json:"packets"`
	// Loss is the share of the newest video packets that never reached
	// the node, after retransmission (sfu.Receiver.RecentLoss), 0..1.
	Loss float64 `json:"loss"`
	// MaxGapMs is the longest the node went without a packet of the
	// (unmuted) track in the interval, sampled every 100 ms.
	MaxGapMs int `json:"max_gap_ms"`
}

// HopSample is one direction of a trunk over an interval, measured by the
// sending node.
type HopSample struct {
	From  string `json:"from"`
	To    string `json:"to"`
	Start int64  `json:"start"`
	End   int64  `json:"end"`
	Up    bool   `json:"up"`

	RTTMs float64 `json:"rtt_ms"`
	Loss  float64 `json:"loss"` // the connection's measured loss, 0..1
	FECK  int     `json:"fec_k"`
	FECM  int     `json:"fec_m"`
	// Rebuilt: this node's packets the peer rebuilt from FEC repairs.
	Rebuilt    int   `json:"rebuilt"`
	RetxBytes  int64 `json:"retx_bytes"`
	SentBytes  int64 `json:"sent_bytes"`
	MediaBytes int64 `json:"media_bytes"`
	FECBytes   int64 `json:"fec_bytes"`
	Expired    int   `json:"expired"` // media messages that missed their deadline
	MediaDrops int   `json:"media_drops"`
	// PTOs: probe timeouts, nothing acknowledged for a while. A cut link
	// shows here, while its loss (measured from acknowledgements) cannot.
	PTOs        int     `json:"ptos"`
	BitrateBps  float64 `json:"bitrate_bps"`
	BandwidthBp float64 `json:"bandwidth_bps"` // the controller's estimate
}

// Route is the path a track layer took to a node, recorded when it
// changes. Path runs from the publisher's node to Node.
type Route struct {
	Node   string   `json:"node"`
	Room   string   `json:"room"`
	Origin string   `json:"origin"`
	Track  string   `json:"track"`
	Layer  int      `json:"layer"`
	At     int64    `json:"at"`
	Path   []string `json:"path"`
}

// NodeSample is a node's own health over an interval.
type NodeSample struct {
	Node   string  `json:"node"`
	Region string  `json:"region"`
	Start  int64   `json:"start"`
	End    int64   `json:"end"`
	CPU    float64 `json:"cpu"` // the process's CPU use, in cores
	Cores  int     `json:"cores"`
	// Drops counts media packets the node dropped from its own queues
	// (trunk delivery and sink queues) in the interval.
	Drops int `json:"drops"`
}

// Event is a point on a participant's timeline: join phases, layer
// switches (Detail holds the reason), reconnects, leaving.
type Event struct {
	Session     string `json:"session"`
	Room        string `json:"room"`
	Participant string `json:"participant"`
	Node        string `json:"node"`
	At          int64  `json:"at"`
	Kind        string `json:"kind"`
	Detail      string `json:"detail"`
}

// Alert is an early warning: a node's or link's figure crossed its SLA
// threshold (State "firing") or came back (State "resolved").
type Alert struct {
	Node      string  `json:"node"`
	At        int64   `json:"at"`
	Kind      string  `json:"kind"`
	Subject   string  `json:"subject"`
	State     string  `json:"state"`
	Value     float64 `json:"value"`
	Threshold float64 `json:"threshold"`
	Message   string  `json:"message"`
}

func (Call) isRecord()          {}
func (TrackSample) isRecord()   {}
func (PublishSample) isRecord() {}
func (Stall) isRecord()         {}
func (DownSample) isRecord()    {}
func (UpSample) isRecord()      {}
func (HopSample) isRecord()     {}
func (Route) isRecord()         {}
func (NodeSample) isRecord()    {}
func (Event) isRecord()         {}
func (Alert) isRecord()         {}

// Cause is where a stall began and why the platform thinks so.
type Cause struct {
	Where    string `json:"where"`
	Hop      string `json:"hop,omitempty"` // "from→to" for a trunk hop
	Node     string `json:"node,omitempty"`
	Evidence string `json:"evidence"`
}

// HopName names a trunk hop as the API and the pages do.
func HopName(from, to string) string { return from + "→" + to }
