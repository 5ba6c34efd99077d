package sfu

import (
	"cmp"
	"slices"
	"time"
)

// RoomSnapshot describes a room for diagnostics (the node's /debug/rooms).
type RoomSnapshot struct {
	Name, Mode   string
	Participants []ParticipantSnapshot
}

// ParticipantSnapshot describes a participant: what it publishes and how
// many down-tracks it receives.
type ParticipantSnapshot struct {
	ID, Name   string
	Tracks     []TrackSnapshot
	DownTracks int
	// Estimate is the subscriber connection's bandwidth estimate (bits/s)
	// and Congested the selector's last verdict on it (congestion.go).
	Estimate  int
	Congested bool
	// Overuse and Loss are the estimator's evidence: its delay detector
	// sees overuse, and the loss rate it measures.
	Overuse bool
	Loss    float64
	// Video is what the selector decided for each received video track.
	Video []DownSnapshot `json:",omitempty"`
}

// DownSnapshot is one received video track as the layer selector sees it.
type DownSnapshot struct {
	Publisher, Track string
	Asked            int // the layer the view preference asks for
	Decided          int // the selector's choice (-1 paused)
	// Step is the selector's temporal step (svc_temporal.go): 0 temporal
	// layer 0, 1 layers 0-1, 2 every layer (also for tracks without).
	Step    int
	Current int // the layer forwarded now (-1 none)
}

// TrackSnapshot describes a published track as the node receives it.
type TrackSnapshot struct {
	ID, Kind string
	// Codec is the codec the track was published with (from its first
	// packet: audio/red when the publisher sends RED); PayloadType is the
	// payload type of the newest packet received (0 before any).
	Codec       string
	PayloadType uint8
	Muted       bool
	DownTracks  int
	Layers      []LayerSnapshot
}

// LayerSnapshot describes one simulcast layer of a track.
type LayerSnapshot struct {
	RID      string
	Packets  uint64 // received
	Bitrate  int    // measured, bits/s; 0 while not arriving
	Arriving bool
	Paused   bool // by dynacast
	// DDErrors counts the AV1 dependency descriptors of the layer's
	// stream that could not be parsed (malformed, or before the template
	// structure they refer to): such packets are forwarded to nobody who
	// needs their layer.
	DDErrors uint64 `json:",omitempty"`
}

// Snapshot describes every room.
func (s *SFU) Snapshot() []RoomSnapshot {
	s.mu.Lock()
	rooms := make([]*Room, 0, len(s.rooms))
	for _, r := range s.rooms {
		rooms = append(rooms, r)
	}
	s.mu.Unlock()
	slices.SortFunc(rooms, func(a, b *Room) int { return cmp.Compare(a.name, b.name) })
	now := time.Now()
	out := make([]RoomSnapshot, 0, len(rooms))
	for _, r := range rooms {
		rs := RoomSnapshot{Name: r.name, Mode: r.mode}
		for _, p := range r.Participants() {
			ps := ParticipantSnapshot{ID: p.id, Name: p.name, Tracks: []TrackSnapshot{}}
			if p.sub != nil {
				ps.DownTracks = p.sub.downTracks()
				ps.Estimate, ps.Congested, ps.Video = p.sub.snapshot()
				ps.Overuse, ps.Loss = p.sub.est.evidence()
			}
			for _, t := range p.Tracks() {
				ps.Tracks = append(ps.Tracks, t.snapshot(now))
			}
			rs.Participants = append(rs.Participants, ps)
		}
		out = append(out, rs)
	}
	return out
}

// Snapshot describes the track as it is received now.
func (r *Receiver) Snapshot() TrackSnapshot { return r.snapshot(time.Now()) }

func (r *Receiver) snapshot(now time.Time) TrackSnapshot {
	ts := TrackSnapshot{ID: r.id, Kind: kindString(r.kind), Codec: r.codec.MimeType,
		PayloadType: uint8(r.lastPT.Load()), Muted: r.muted.Load(), DownTracks: len(*r.downs.Load())}
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, l := range r.layers {
		ts.Layers = append(ts.Layers, LayerSnapshot{RID: l.rid, Packets: l.packets.Load(), Bitrate: l.bitrate,
			Arriving: r.arriving(l, now), Paused: l.paused, DDErrors: l.ddErrors.Load()})
	}
	return ts
}
