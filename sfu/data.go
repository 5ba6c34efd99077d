package sfu

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/webrtc/v4"
	"golang.org/x/time/rate"
)

// Data messages: participants send reliable (ordered, retransmitted) or
// lossy (unordered, never retransmitted) messages to the whole room or to
// named participants over WebRTC data channels. A participant that joins
// with ParticipantParams.Data gets two channels on its subscriber
// connection, "_reliable" and "_lossy", created by the SFU; it sends and
// receives on both. Each message is one JSON text:
//
//	client → SFU:  {"to": ["bob"], "topic": "chat", "data": "hi"}   (to: empty for the room)
//	SFU → client:  {"from": "alice", "to": ["bob"], "topic": "chat", "data": "hi"}
//	SFU → client:  {"error": {"code": "rate_limited", "message": "..."}}   (on _reliable)
//
// A room's messages also go to its data watchers (a trunk carrying them to
// the room's other nodes), and a trunk injects the other nodes' messages
// with Room.InjectData.

// Data limits.
const (
	// MaxReliableData and MaxLossyData bound one message as sent (JSON):
	// a lossy message must fit one SCTP packet, or losing any fragment
	// loses it.
	MaxReliableData = 15 << 10
	MaxLossyData    = 1200
	// dataRate and dataBurst limit messages per second per participant;
	// dataBytes limits bytes per second (burst one second's worth).
	dataRate  = 30
	dataBurst = 60
	dataBytes = 64 << 10
	// dataQueueMax: a receiving channel with more buffered is skipped (a
	// subscriber that does not read must not make the node buffer).
	dataQueueMax = 1 << 20
	// maxDataTargets bounds a message's list of recipients.
	maxDataTargets = 64
)

// Error codes sent back on the reliable channel.
const (
	DataTooLarge    = "too_large"
	DataRateLimited = "rate_limited"
	DataBadMessage  = "bad_message"
)

// DataPacket is one data message in a room.
type DataPacket struct {
	From    string   // the sending participant's ID
	To      []string // recipients; empty: everybody else in the room
	Topic   string
	Payload string
	Lossy   bool
}

// ErrDataLimited is returned when a participant exceeds its data rate.
var ErrDataLimited = errors.New("sfu: data rate limit exceeded")

// wireData is a data message as it crosses a data channel.
type wireData struct {
	From  string     `json:"from,omitempty"`
	To    []string   `json:"to,omitempty"`
	Topic string     `json:"topic,omitempty"`
	Data  string     `json:"data"`
	Error *dataError `json:"error,omitempty"`
}

type dataError struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

// dataChannels are a participant's two channels and its sending limits.
type dataChannels struct {
	p               *Participant
	reliable, lossy *webrtc.DataChannel
	msgs, bytes     *rate.Limiter
	lastErr         atomic.Int64 // unix ns of the last error sent (one per second)
}

// roomData is a room's data watchers.
type roomData struct {
	mu       sync.Mutex
	watchers map[int]func(DataPacket)
	seq      int
}

func newDataChannels(p *Participant, pc *webrtc.PeerConnection) (*dataChannels, error) {
	ordered, unordered, zero := true, false, uint16(0)
	rel, err := pc.CreateDataChannel("_reliable", &webrtc.DataChannelInit{Ordered: &ordered})
	if err != nil {
		return nil, fmt.Errorf("sfu: data channel: %w", err)
	}
	lossy, err := pc.CreateDataChannel("_lossy", &webrtc.DataChannelInit{Ordered: &unordered, MaxRetransmits: &zero})
	if err != nil {
		return nil, fmt.Errorf("sfu: data channel: %w", err)
	}
	d := &dataChannels{p: p, reliable: rel, lossy: lossy,
		msgs: rate.NewLimiter(dataRate, dataBurst), bytes: rate.NewLimiter(dataBytes, dataBytes)}
	rel.OnMessage(func(m webrtc.DataChannelMessage) { d.receive(m.Data, false, time.Now()) })
	lossy.OnMessage(func(m webrtc.DataChannelMessage) { d.receive(m.Data, true, time.Now()) })
	return d, nil
}

// receive takes one message from the client: checks limits and fans it
// out to the room.
func (d *dataChannels) receive(b []byte, lossy bool, now time.Time) {
	max := MaxReliableData
	if lossy {
		max = MaxLossyData
	}
	st := d.p.stats
	if len(b) > max {
		st.dataDropped.Add(1)
		d.sendError(DataTooLarge, fmt.Sprintf("a message of %d bytes exceeds %d", len(b), max), now)
		return
	}
	if !d.msgs.AllowN(now, 1) || !d.bytes.AllowN(now, len(b)) {
		st.dataDropped.Add(1)
		d.sendError(DataRateLimited, fmt.Sprintf("more than %d messages or %d bytes per second: dropped", dataRate, dataBytes), now)
		return
	}
	var w wireData
	if err := json.Unmarshal(b, &w); err != nil || len(w.To) > maxDataTargets || len(w.Topic) > 256 {
		st.dataDropped.Add(1)
		d.sendError(DataBadMessage, "want {\"to\": [ids], \"topic\": string, \"data\": string}", now)
		return
	}
	st.dataReceived.Add(1)
	pk := DataPacket{From: d.p.id, To: w.To, Topic: w.Topic, Payload: w.Data, Lossy: lossy}
	d.p.room.deliverData(pk, true)
}

// sendError tells the client, at most once a second, why a message was dropped.
func (d *dataChannels) sendError(code, msg string, now time.Time) {
	last := d.lastErr.Load()
	if now.UnixNano()-last < int64(time.Second) || !d.lastErr.CompareAndSwap(last, now.UnixNano()) {
		return
	}
	b, _ := json.Marshal(wireData{Error: &dataError{Code: code, Message: msg}})
	_ = d.reliable.SendText(string(b))
}

// send writes a packet to the client on the matching channel; a channel
// not open yet, or with too much buffered, drops it (counted).
func (d *dataChannels) send(b []byte, lossy bool) {
	ch := d.reliable
	if lossy {
		ch = d.lossy
	}
	if ch.ReadyState() != webrtc.DataChannelStateOpen || ch.BufferedAmount() > dataQueueMax {
		d.p.stats.dataDropped.Add(1)
		return
	}
	if ch.SendText(string(b)) == nil {
		d.p.stats.dataSent.Add(1)
	}
}

// SendData sends a message from this participant, as if it came from its
// client, to the room or to pk.To. Limits apply as to a client.
func (p *Participant) SendData(pk DataPacket) error {
	if len(pk.Payload) > MaxReliableData || len(pk.To) > maxDataTargets {
		return fmt.Errorf("sfu: data message too large")
	}
	pk.From = p.id
	p.room.deliverData(pk, true)
	return nil
}

// WatchData calls fn with every data message sent by a participant of this
// node (not ones injected by InjectData) until cancel is called. fn has
// the constraints of ParticipantParams.OnEvent.
func (r *Room) WatchData(fn func(DataPacket)) (cancel func()) {
	r.data.mu.Lock()
	if r.data.watchers == nil {
		r.data.watchers = map[int]func(DataPacket){}
	}
	r.data.seq++
	id := r.data.seq
	r.data.watchers[id] = fn
	r.data.mu.Unlock()
	return func() {
		r.data.mu.Lock()
		delete(r.data.watchers, id)
		r.data.mu.Unlock()
	}
}

// InjectData delivers a message that another node's participant sent to
// this node's participants.
func (r *Room) InjectData(pk DataPacket) { r.deliverData(pk, false) }

// deliverData sends pk to its recipients here and, when local, to the
// watchers.
func (r *Room) deliverData(pk DataPacket, local bool) {
	b, _ := json.Marshal(wireData{From: pk.From, To: pk.To, Topic: pk.Topic, Data: pk.Payload})
	for _, p := range r.Participants() {
		if p.id == pk.From || p.sub == nil || p.sub.data == nil || (len(pk.To) > 0 && !slices.Contains(pk.To, p.id)) {
			continue
		}
		p.sub.data.send(b, pk.Lossy)
	}
	if !local {
		return
	}
	r.data.mu.Lock()
	ws := make([]func(DataPacket), 0, len(r.data.watchers))
	for _, w := range r.data.watchers {
		ws = append(ws, w)
	}
	r.data.mu.Unlock()
	for _, w := range ws {
		w(pk)
	}
}
