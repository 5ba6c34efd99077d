package trunk

import (
	"errors"
	"time"

	"github.com/qrtn/qrtn/sfu"
)

// Data messages between participants of a room on different nodes
// (sfu/data.go) cross trunks on the reliable control stream as `data`
// messages, flooded like records: the node of the sender originates one
// with its next sequence number (Core.LocalData), every node passes a
// message it has not seen on every other up trunk and hands it to its
// local side (DataLocal), which delivers it to the room's participants
// here (the SFU filters by recipient). A message older than the newest
// one seen from its origin is a duplicate from another path and is
// dropped. The SFU rate-limits and size-limits each participant before a
// message gets here, which bounds what the control stream carries.

// DataMessage is one participant's data message on its way to the room's
// other nodes.
type DataMessage struct {
	Origin  string   `json:"origin"`
	Seq     uint64   `json:"seq"`
	Room    string   `json:"room"`
	From    string   `json:"from"`
	To      []string `json:"to,omitempty"`
	Topic   string   `json:"topic,omitempty"`
	Payload string   `json:"data"`
	Lossy   bool     `json:"lossy,omitempty"`
}

// DataLocal is implemented by a Local side that takes data messages: the
// Core hands it every new message from another node.
type DataLocal interface {
	DeliverData(now time.Time, d DataMessage)
}

// Limits of a data message: the SFU's own limits, with room to spare.
const (
	maxDataPayload = 32 << 10
	maxDataTargets = 64
	// maxDataOrigins bounds the duplicate-suppression table.
	maxDataOrigins = 1024
)

func (d *DataMessage) validate() error {
	if d.Origin == "" || d.Room == "" || d.From == "" || len(d.Payload) > maxDataPayload || len(d.To) > maxDataTargets {
		return errors.New("bad data message")
	}
	return checkNames(append([]string{d.Origin, d.Room, d.From, d.Topic}, d.To...)...)
}

// dataRelay remembers the newest data message seen per origin, and counts.
type dataRelay struct {
	seen          map[string]uint64
	in, out, drop uint64
}

// LocalData floods a data message that a participant of this node sent
// (Origin and Seq are set here). It is one of the Core's inputs.
func (c *Core) LocalData(now time.Time, d DataMessage) {
	c.now = now
	d.Origin, d.Seq = c.cfg.Name, c.nextSeq()
	c.data.out++
	c.flood("", message{Data: &d})
}

// receiveData hands a data message from a trunk to the local side and
// passes it on.
func (c *Core) receiveData(now time.Time, p *peer, d DataMessage) {
	if d.Origin == c.cfg.Name {
		return
	}
	if c.data.seen == nil {
		c.data.seen = map[string]uint64{}
	}
	last, known := c.data.seen[d.Origin]
	if known && d.Seq <= last {
		return
	}
	if !known && len(c.data.seen) >= maxDataOrigins {
		c.data.drop++
		return
	}
	c.data.seen[d.Origin] = d.Seq
	c.data.in++
	if dl, ok := c.local.(DataLocal); ok {
		dl.DeliverData(now, d)
	}
	c.flood(p.info.Name, message{Data: &d})
}

// watchData follows a local room's data messages; they are queued into
// the loop, which gives them to the Core.
func (a *accessSide) watchData(lr *localRoom) (cancel func()) {
	return lr.room.WatchData(func(pk sfu.DataPacket) {
		a.calls.push(func(now time.Time) {
			a.core.LocalData(now, DataMessage{Room: lr.name, From: pk.From, To: pk.To,
				Topic: pk.Topic, Payload: pk.Payload, Lossy: pk.Lossy})
		})
	})
}

// DeliverData gives another node's data message to the local room, if
// this node has it (DataLocal).
func (a *accessSide) DeliverData(_ time.Time, d DataMessage) {
	if lr := a.rooms[d.Room]; lr != nil {
		lr.room.InjectData(sfu.DataPacket{From: d.From, To: d.To, Topic: d.Topic, Payload: d.Payload, Lossy: d.Lossy})
	}
}
