package trunk

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
)

// The control stream carries frames: a uvarint length, then one JSON
// object with exactly one member naming the message (PROTOCOL.md).

// Limits on what a peer may send; anything beyond is a protocol error that
// closes the trunk.
const (
	maxFrame        = 256 << 10
	maxName         = 256
	maxLinks        = 256
	maxParticipants = 1000
	maxTracks       = 16
	maxLayers       = 8
	maxPath         = 32
	// protocolVersion 3 added Subscribe.TL (temporal layers wanted); 4,
	// Subscribe's Mode and Kind, Hello's Scope and Interest.
	protocolVersion = 4
)

// ErrProtocol is wrapped by every malformed control message.
var ErrProtocol = errors.New("trunk: protocol error")

// TrackRef names a published track network-wide: the node it was published
// on (its origin), its room and its ID in that room.
type TrackRef struct {
	Origin string `json:"o"`
	Room   string `json:"r"`
	ID     string `json:"id"`
}

func (r TrackRef) String() string { return r.Origin + "/" + r.Room + "/" + r.ID }

// Hello is the first message each way on a trunk.
type Hello struct {
	Name    string `json:"name"`
	Region  string `json:"region"`
	Role    string `json:"role"`
	Version int    `json:"version"`
	// Scope "rooms": send the sender only the room records of the rooms
	// it declares with Interest (flood_scope.go); empty: every record.
	Scope string `json:"scope,omitempty"`
}

// LinkState is one node's view of its trunks and its load, flooded to every
// node with a sequence number so that each can plan routes.
type LinkState struct {
	Origin string  `json:"origin"`
	Seq    uint64  `json:"seq"`
	Region string  `json:"region"`
	Role   string  `json:"role"`
	Load   float64 `json:"load"`
	// HTTP is the node's web address, for the network page's links.
	HTTP  string       `json:"http,omitempty"`
	Links []LinkMetric `json:"links"`

	Announce // for schedulers: draining, users, coordinates (announce.go)
}

// LinkMetric is what the origin measured on its trunk to Peer, in the
// origin → Peer direction.
type LinkMetric struct {
	Peer string `json:"peer"`
	Up   bool   `json:"up"`
	// RTTMicros is the smoothed round-trip time in microseconds.
	RTTMicros int64 `json:"rtt_us"`
	// Loss is the fraction of packets lost before repair, recently.
	Loss float64 `json:"loss"`
	// Bandwidth is the congestion controller's estimate in bits/s.
	Bandwidth float64 `json:"bw"`
}

// RoomState is one node's part of a room: its own (not relayed)
// participants and their tracks. A record without participants is a
// tombstone: the node left the room.
//
// A record with Base set is a delta: it turns the origin's record with
// sequence number Base into the one with Seq, adding or replacing the
// Participants it lists and removing those in Gone. A node that does not
// hold Base asks the sender for the whole record (RoomRequest). Deltas
// only travel; what a node stores is always whole.
type RoomState struct {
	Origin       string             `json:"origin"`
	Seq          uint64             `json:"seq"`
	Room         string             `json:"room"`
	Mode         string             `json:"mode"`
	Participants []ParticipantState `json:"participants"`
	// Opts, set by the node where an operator created the room while it
	// holds it open, keeps an empty room alive network-wide (admin.go).
	Opts *RoomOpts `json:"opts,omitempty"`
	Base uint64    `json:"base,omitempty"`
	Gone []string  `json:"gone,omitempty"`
}

// RoomRequest asks a neighbour for its whole record of an origin's part
// of a room (a delta arrived for a record this node does not hold).
type RoomRequest struct {
	Origin string `json:"origin"`
	Room   string `json:"room"`
}

// ParticipantState is one participant of a RoomState.
type ParticipantState struct {
	ID     string       `json:"id"`
	Name   string       `json:"name"`
	Tracks []TrackState `json:"tracks"`
	// Since is when the participant's session began (Unix ms). When one
	// identity is in a room on two nodes, the newest session wins: it
	// moved (PROTOCOL.md, "Duplicate identities").
	Since int64 `json:"since,omitempty"`
}

// TrackState announces a track: its codec and simulcast layers.
type TrackState struct {
	ID        string   `json:"id"`
	Kind      string   `json:"kind"`
	Mime      string   `json:"mime"`
	ClockRate uint32   `json:"clock"`
	Channels  uint16   `json:"ch,omitempty"`
	Fmtp      string   `json:"fmtp,omitempty"`
	Layers    []string `json:"layers,omitempty"`
	// AudioLevelExt is the header extension ID of the audio level in the
	// relayed packets (0: none).
	AudioLevelExt uint8 `json:"alevel,omitempty"`
	// DDExt is the header extension ID of the AV1 dependency descriptor
	// in the relayed packets (0: none), passed on to subscribers.
	DDExt uint8 `json:"dd,omitempty"`
	Muted bool  `json:"muted,omitempty"`
	// Source is what the track shows ("camera", "screen", ...; empty:
	// camera or microphone).
	Source string `json:"source,omitempty"`
	// BackupFor is the ID of the track this one is a backup codec of
	// (sfu/subscription.go); empty for a primary track.
	BackupFor string `json:"backup_for,omitempty"`
}

// Subscribe is the whole set of layers of Track the sender wants from the
// receiver (bit i: layer i). Zero unsubscribes. Path is the route the sender
// planned, origin first and the sender last. Mode and Kind, when set, are
// the track's room mode ("meeting", "live") and kind ("audio", "video") as
// the sender knows them: a node the subscription reaches before the room
// record that announces the track carries it right from the start
// (flood_order.go). Nodes that predate them send neither.
type Subscribe struct {
	Track  TrackRef `json:"track"`
	Layers uint32   `json:"layers"`
	Path   []string `json:"path,omitempty"`
	Mode   string   `json:"mode,omitempty"`
	Kind   string   `json:"kind,omitempty"`
	// TL (protocol version 3) is, by layer, the highest temporal layer the
	// sender wants of it (0 to 7; 7: every one). A layer past its end, and
	// every layer of a Subscribe without it (an older peer), wants every
	// temporal layer. Omitted when every layer wants every one.
	TL []int `json:"tl,omitempty"`
}

// allTL is the value of Subscribe.TL that wants every temporal layer.
const allTL = 7

// temporal is the highest temporal layer wanted of layer l.
func (s *Subscribe) temporal(l int) int {
	if l < 0 || l >= len(s.TL) {
		return allTL
	}
	return s.TL[l]
}

// Bind says that the sender's message stream Stream carries Layer of Track
// from now on.
type Bind struct {
	Stream uint64   `json:"stream"`
	Track  TrackRef `json:"track"`
	Layer  int      `json:"layer"`
	Kind   string   `json:"kind"`
}

// Keyframe asks the upstream node for a key frame of a layer.
type Keyframe struct {
	Track TrackRef `json:"track"`
	Layer int      `json:"layer"`
}

// Unavailable refuses a subscription the receiver cannot serve through the
// sender (Reason "loop": the sender is upstream of the subscriber).
type Unavailable struct {
	Track  TrackRef `json:"track"`
	Reason string   `json:"reason"`
}

// message is one control frame; exactly one member is set.
type message struct {
	Hello       *Hello       `json:"hello,omitempty"`
	LinkState   *LinkState   `json:"lsa,omitempty"`
	Room        *RoomState   `json:"room,omitempty"`
	Subscribe   *Subscribe   `json:"sub,omitempty"`
	Bind        *Bind        `json:"bind,omitempty"`
	Keyframe    *Keyframe    `json:"pli,omitempty"`
	Unavailable *Unavailable `json:"unavail,omitempty"`
	Data        *DataMessage `json:"data,omitempty"`
	RoomRequest *RoomRequest `json:"roomreq,omitempty"`
	Command     *Command     `json:"cmd,omitempty"`
	Reply       *Reply       `json:"cmd_reply,omitempty"`
	Interest    *Interest    `json:"interest,omitempty"`
}

// Message kinds, for counting control traffic.
const (
	kindHello = iota
	kindLinkState
	kindRoom
	kindSubscribe
	kindBind
	kindKeyframe
	kindUnavailable
	kindRoomRequest
	kindCommand
	kindReply
	kindData
	kindInterest
	numKinds
)

// kindNames are the message names on the wire, by kind.
var kindNames = [numKinds]string{"hello", "lsa", "room", "sub", "bind", "pli", "unavail", "roomreq", "cmd", "cmd_reply", "data", "interest"}

// kind is the message's kind.
func (m *message) kind() int {
	switch {
	case m.Hello != nil:
		return kindHello
	case m.LinkState != nil:
		return kindLinkState
	case m.Room != nil:
		return kindRoom
	case m.Subscribe != nil:
		return kindSubscribe
	case m.Bind != nil:
		return kindBind
	case m.Keyframe != nil:
		return kindKeyframe
	case m.RoomRequest != nil:
		return kindRoomRequest
	case m.Command != nil:
		return kindCommand
	case m.Reply != nil:
		return kindReply
	case m.Interest != nil:
		return kindInterest
	case m.Data != nil:
		return kindData
	}
	return kindUnavailable
}

// appendFrame appends m as one control frame.
func appendFrame(dst []byte, m message) ([]byte, error) {
	b, err := json.Marshal(m)
	if err != nil {
		return dst, err
	}
	if len(b) > maxFrame {
		return dst, fmt.Errorf("trunk: control message of %d bytes exceeds %d", len(b), maxFrame)
	}
	dst = binary.AppendUvarint(dst, uint64(len(b)))
	return append(dst, b...), nil
}

// parseFrame reads one frame from the front of b. It returns n == 0 when b
// does not yet hold a whole frame.
func parseFrame(b []byte) (m message, n int, err error) {
	n, k, err := frameLen(b)
	if n == 0 || err != nil {
		return m, 0, err
	}
	if err := json.Unmarshal(b[k:n], &m); err != nil {
		return m, 0, fmt.Errorf("%w: %v", ErrProtocol, err)
	}
	if err := m.validate(); err != nil {
		return m, 0, err
	}
	return m, n, nil
}

// frameLen returns the length of the complete frame at the start of b
// (0: not all of it is there yet) and of its length prefix.
func frameLen(b []byte) (n, prefix int, err error) {
	size, k := binary.Uvarint(b)
	switch {
	case k == 0:
		return 0, 0, nil
	case k < 0 || size > maxFrame:
		return 0, 0, fmt.Errorf("%w: frame length", ErrProtocol)
	case uint64(len(b)-k) < size:
		return 0, 0, nil
	}
	return k + int(size), k, nil
}

func (m *message) validate() error {
	set := 0
	for _, p := range []bool{m.Hello != nil, m.LinkState != nil, m.Room != nil, m.Subscribe != nil,
		m.Bind != nil, m.Keyframe != nil, m.Unavailable != nil, m.RoomRequest != nil, m.Command != nil,
		m.Reply != nil, m.Data != nil, m.Interest != nil} {
		if p {
			set++
		}
	}
	if set != 1 {
		return fmt.Errorf("%w: %d message members (want 1)", ErrProtocol, set)
	}
	var err error
	switch {
	case m.Hello != nil:
		err = checkNames(m.Hello.Name, m.Hello.Region, m.Hello.Role, m.Hello.Scope)
		if err == nil && m.Hello.Name == "" {
			err = errors.New("hello without a name")
		}
	case m.LinkState != nil:
		err = m.LinkState.validate()
	case m.Room != nil:
		err = m.Room.validate()
	case m.Interest != nil:
		err = m.Interest.validate()
	case m.Subscribe != nil:
		err = m.Subscribe.Track.validate()
		if err == nil && len(m.Subscribe.Path) > maxPath {
			err = errors.New("path too long")
		}
		if err == nil {
			err = checkNames(m.Subscribe.Path...)
		}
		if err == nil {
			err = m.Subscribe.checkHints()
		}
		if err == nil {
			err = m.Subscribe.validateTL()
		}
	case m.Bind != nil:
		err = m.Bind.Track.validate()
		if err == nil && (m.Bind.Layer < 0 || m.Bind.Layer >= maxLayers) {
			err = fmt.Errorf("layer %d", m.Bind.Layer)
		}
	case m.Keyframe != nil:
		err = m.Keyframe.Track.validate()
		if err == nil && (m.Keyframe.Layer < 0 || m.Keyframe.Layer >= maxLayers) {
			err = fmt.Errorf("layer %d", m.Keyframe.Layer)
		}
	case m.Unavailable != nil:
		err = m.Unavailable.Track.validate()
	case m.RoomRequest != nil:
		err = checkNames(m.RoomRequest.Origin, m.RoomRequest.Room)
		if err == nil && (m.RoomRequest.Origin == "" || m.RoomRequest.Room == "") {
			err = errors.New("room request without origin or room")
		}
	case m.Command != nil:
		err = m.Command.validate()
	case m.Reply != nil:
		err = m.Reply.validate()
	case m.Data != nil:
		err = m.Data.validate()
	}
	if err != nil {
		return fmt.Errorf("%w: %v", ErrProtocol, err)
	}
	return nil
}

func checkNames(s ...string) error {
	for _, x := range s {
		if len(x) > maxName {
			return fmt.Errorf("name of %d bytes", len(x))
		}
	}
	return nil
}

func (r TrackRef) validate() error {
	if r.Origin == "" || r.Room == "" || r.ID == "" {
		return errors.New("incomplete track reference")
	}
	return checkNames(r.Origin, r.Room, r.ID)
}

func (ls *LinkState) validate() error {
	if ls.Origin == "" || len(ls.Links) > maxLinks {
		return errors.New("link state without origin or with too many links")
	}
	if ls.Load < 0 || ls.Load > 100 {
		return fmt.Errorf("load %v", ls.Load)
	}
	if err := ls.Announce.validate(); err != nil {
		return err
	}
	for _, l := range ls.Links {
		if l.Peer == "" || l.RTTMicros < 0 || l.Loss < 0 || l.Loss > 1 || l.Bandwidth < 0 {
			return errors.New("bad link metric")
		}
		if err := checkNames(l.Peer); err != nil {
			return err
		}
	}
	return checkNames(ls.Origin, ls.Region, ls.Role, ls.HTTP)
}

func (rs *RoomState) validate() error {
	if rs.Origin == "" || rs.Room == "" || len(rs.Participants) > maxParticipants || len(rs.Gone) > maxParticipants {
		return errors.New("room state without origin or room, or too large")
	}
	if rs.Base == 0 && len(rs.Gone) > 0 {
		return errors.New("room state removes participants but is no delta")
	}
	if rs.Base != 0 && rs.Base >= rs.Seq {
		return errors.New("room delta not newer than its base")
	}
	if err := checkNames(append([]string{rs.Origin, rs.Room, rs.Mode}, rs.Gone...)...); err != nil {
		return err
	}
	if o := rs.Opts; o != nil && (o.MaxParticipants < 0 || o.EmptyTimeoutMs < 0) {
		return errors.New("negative room option")
	}
	for _, p := range rs.Participants {
		if p.ID == "" || len(p.Tracks) > maxTracks {
			return errors.New("bad participant")
		}
		if err := checkNames(p.ID, p.Name); err != nil {
			return err
		}
		for _, t := range p.Tracks {
			if t.ID == "" || (t.Kind != "audio" && t.Kind != "video") || len(t.Layers) > maxLayers {
				return errors.New("bad track")
			}
			if err := checkNames(append([]string{t.ID, t.Mime, t.Fmtp, t.Source}, t.Layers...)...); err != nil {
				return err
			}
		}
	}
	return nil
}

// validateTL checks the temporal layers wanted, and normalises an empty
// list to none (the two mean the same).
func (s *Subscribe) validateTL() error {
	if len(s.TL) > maxLayers {
		return fmt.Errorf("%d temporal layer entries (at most %d)", len(s.TL), maxLayers)
	}
	for _, t := range s.TL {
		if t < 0 || t > allTL {
			return fmt.Errorf("temporal layer %d (want 0 to %d)", t, allTL)
		}
	}
	if len(s.TL) == 0 {
		s.TL = nil
	}
	return nil
}
