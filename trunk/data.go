package trunk

import (
	"errors"
	"time"

	"github.com/qrtn/qrtn/sfu"
)

// Data messages between participants of a room on different nodes
// (sfu/data.go) cross trunks on the reliable control stream as `data`
// messages, flooded like records: the node of the sender originates one
// with its next sequence number, every node passes a message it has not
// seen on every other up trunk and delivers it to the room's local
// participants (the SFU filters by recipient). A message older than the
// newest one seen from its origin is a duplicate from another path and is
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

// dataRelay remembers the newest data message seen per origin.
type dataRelay struct {
	seen map[string]uint64
}

// watchData follows a local room's data messages; they are queued into
// the loop, which floods them.
func (a *accessSide) watchData(lr *localRoom) (cancel func()) {
	return lr.room.WatchData(func(pk sfu.DataPacket) {
		a.t.calls.push(func(time.Time) {
			t := a.t
			m := &DataMessage{Origin: t.cfg.Name, Seq: t.nextSeq(), Room: lr.name, From: pk.From, To: pk.To,
				Topic: pk.Topic, Payload: pk.Payload, Lossy: pk.Lossy}
			t.stats.dataOut.Add(1)
			t.flood("", message{Data: m})
		})
	})
}

// receiveData delivers a data message from a trunk to the local room, if
// any, and passes it on.
func (t *Trunk) receiveData(p *peer, d DataMessage) {
	if d.Origin == t.cfg.Name {
		return
	}
	if t.data.seen == nil {
		t.data.seen = map[string]uint64{}
	}
	last, known := t.data.seen[d.Origin]
	if known && d.Seq <= last {
		return
	}
	if !known && len(t.data.seen) >= maxDataOrigins {
		t.stats.dataDropped.Add(1)
		return
	}
	t.data.seen[d.Origin] = d.Seq
	t.stats.dataIn.Add(1)
	if t.access != nil {
		if lr := t.access.rooms[d.Room]; lr != nil {
			lr.room.InjectData(sfu.DataPacket{From: d.From, To: d.To, Topic: d.Topic, Payload: d.Payload, Lossy: d.Lossy})
		}
	}
	t.flood(p.info.Name, message{Data: &d})
}
