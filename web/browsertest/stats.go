package browsertest

import (
	"fmt"
	"strings"
	"time"
)

// Stats is the value of window.qrtn.stats() on the demo page.
type Stats struct {
	Joined      bool       `json:"joined"`
	Participant string     `json:"participant"`
	Publishing  []Outbound `json:"publishing"`
	Subscribed  []Inbound  `json:"subscribed"`
	RTT         struct {
		Publisher  *float64 `json:"publisher"`
		Subscriber *float64 `json:"subscriber"`
	} `json:"rtt"`
	Error  string `json:"error"`
	Timing Timing `json:"timing"`
	// Node is the access node the page is joined to (null before).
	Node *struct {
		Name   string `json:"name"`
		Region string `json:"region"`
	} `json:"node"`
	// Speakers are the active speakers (participant ids, loudest first) the
	// node last announced.
	Speakers []string `json:"speakers"`
	// Reconnects are the session's recoveries so far.
	Reconnects []Reconnect `json:"reconnects"`
	// Frames are the remote video frames the page rendered (qrtn-frames.js).
	Frames Frames `json:"frames"`
	// At is when the page produced these stats, as the test's clock saw it
	// (the middle of the evaluation): rates between two snapshots divide by
	// the difference of their At, not by how long the test slept.
	At time.Time `json:"-"`
	// Took is how long the evaluation that produced these stats took.
	Took time.Duration `json:"-"`
	// Candidates are the local candidate types ("host", "srflx", "prflx",
	// "relay") of each connection's selected pair; RelayProtocols how a
	// relay candidate reaches its TURN server ("udp", "tcp", "tls").
	Candidates     Pair `json:"candidates"`
	RelayProtocols Pair `json:"relayProtocols"`
}

// Pair is one value per PeerConnection; nil when unknown.
type Pair struct {
	Publisher  *string `json:"publisher"`
	Subscriber *string `json:"subscriber"`
}

// Is reports whether the connection's value is v ("publisher" or
// "subscriber").
func (p Pair) Is(target, v string) bool {
	x := p.Subscriber
	if target == "publisher" {
		x = p.Publisher
	}
	return x != nil && *x == v
}

// Reconnect is one recovery of the session: Kind is "ice", "resume" or
// "migrate"; GapMs the longest time without inbound media around it (nil
// when nothing was received).
//
// About a second after it ended, FrameGapMs is the longest interval
// between two video frames shown (rendered, or decoded when no element
// showed one) of any remote participant across it, FrameGaps the same per
// participant name, FrameSource "render", "decode" or "mixed"; FrameSource
// stays empty until then.
type Reconnect struct {
	Kind        string             `json:"kind"`
	GapMs       *float64           `json:"gap_ms"`
	At          float64            `json:"at"`
	Node        string             `json:"node"`
	Reason      string             `json:"reason"`
	FrameGapMs  *float64           `json:"frame_gap_ms"`
	FrameGaps   map[string]float64 `json:"frame_gaps"`
	FrameSource *string            `json:"frame_source"`
}

// String is "kind on node (reason): gap N ms, frames shown N ms apart".
func (r Reconnect) String() string {
	gap := "no gap measured"
	if r.GapMs != nil {
		gap = fmt.Sprintf("gap %.0f ms", *r.GapMs)
	}
	if r.FrameGapMs != nil {
		src := ""
		if r.FrameSource != nil {
			src = *r.FrameSource
		}
		gap += fmt.Sprintf(", longest between frames shown %.0f ms (%s, %v)", *r.FrameGapMs, src, r.FrameGaps)
	}
	return fmt.Sprintf("%s on %s (%s): %s", r.Kind, r.Node, r.Reason, gap)
}

// Framed reports whether the frame gap has been added (qrtn-frames.js
// adds it about a second after the recovery ended).
func (r Reconnect) Framed() bool { return r.FrameGaps != nil }

// Frames are the remote video frames a page rendered: Shown counts them
// per participant id; Gaps are the recent intervals of 100 ms or more
// between two of a participant's frames (At: epoch ms of the frame that
// ended it).
type Frames struct {
	Shown map[string]float64 `json:"shown"`
	Gaps  []FrameGap         `json:"gaps"`
}

// FrameGap is one long interval between two rendered frames.
type FrameGap struct {
	Participant string  `json:"participant"`
	Name        string  `json:"name"`
	Ms          float64 `json:"ms"`
	At          float64 `json:"at"`
	Source      string  `json:"source"`
}

// Longest is the longest interval between rendered frames of a
// participant (id or name) that overlaps [from, to] (epoch ms), among the
// recorded ones (100 ms or more); 0 when none.
//
// An empty participant means any.
func (f Frames) Longest(participant string, from, to float64) float64 {
	var best float64
	for _, g := range f.Gaps {
		if participant != "" && g.Participant != participant && g.Name != participant {
			continue
		}
		if g.At > from && g.At-g.Ms < to {
			best = max(best, g.Ms)
		}
	}
	return best
}

// ReconnectsOf returns the recoveries of one kind.
func (s Stats) ReconnectsOf(kind string) []Reconnect {
	var out []Reconnect
	for _, r := range s.Reconnects {
		if r.Kind == kind {
			out = append(out, r)
		}
	}
	return out
}

// Timing is the demo page's join timing, in ms since the page started to
// join (token fetch included).
type Timing struct {
	StartedMs    float64            `json:"startedMs"`    // when the join started, ms after navigation
	JoinedMs     *float64           `json:"joinedMs"`     // the node accepted the join
	FirstFrameMs map[string]float64 `json:"firstFrameMs"` // participant id → first video frame shown
}

// Inbound is one received track (an inbound-rtp entry of getStats).
type Inbound struct {
	Participant          string  `json:"participant"`
	Name                 string  `json:"name"`
	Track                string  `json:"track"`
	Kind                 string  `json:"kind"`
	Source               string  `json:"source"` // camera, microphone, screen
	Codec                string  `json:"codec"`  // MIME subtype: "VP8", "H264", "VP9", "AV1", "opus"
	Muted                bool    `json:"muted"`  // the node said the publisher muted it
	FramesDecoded        int64   `json:"framesDecoded"`
	FramesPerSecond      float64 `json:"framesPerSecond"`
	FrameWidth           int     `json:"frameWidth"`
	FrameHeight          int     `json:"frameHeight"`
	BytesReceived        int64   `json:"bytesReceived"`
	PacketsReceived      int64   `json:"packetsReceived"`
	PacketsLost          int64   `json:"packetsLost"`
	FECPacketsReceived   int64   `json:"fecPacketsReceived"`
	FECPacketsDiscarded  int64   `json:"fecPacketsDiscarded"`
	FreezeCount          int64   `json:"freezeCount"`
	TotalFreezesDuration float64 `json:"totalFreezesDuration"`
	Layer                string  `json:"layer"`
}

// Outbound is one sent RTP stream (an outbound-rtp entry; one per simulcast layer).
type Outbound struct {
	Kind            string  `json:"kind"`
	RID             string  `json:"rid"`
	Codec           string  `json:"codec"`
	BytesSent       int64   `json:"bytesSent"`
	PacketsSent     int64   `json:"packetsSent"`
	FramesEncoded   int64   `json:"framesEncoded"`
	FramesPerSecond float64 `json:"framesPerSecond"`
	FrameWidth      int     `json:"frameWidth"`
	FrameHeight     int     `json:"frameHeight"`
	// QualityLimitationReason is why the encoder sends less than asked:
	// "none", "bandwidth", "cpu" or "other".
	QualityLimitationReason string `json:"qualityLimitationReason"`
}

// Track returns the received track of a kind ("audio" or "video") from a
// participant, matched by id or display name.
func (s Stats) Track(participant, kind string) (Inbound, bool) {
	for _, in := range s.Subscribed {
		if in.Kind == kind && in.Source != "screen" && (in.Participant == participant || in.Name == participant) {
			return in, true
		}
	}
	return Inbound{}, false
}

// Screen returns the received screen share of a participant, matched by id
// or display name.
func (s Stats) Screen(participant string) (Inbound, bool) {
	for _, in := range s.Subscribed {
		if in.Source == "screen" && (in.Participant == participant || in.Name == participant) {
			return in, true
		}
	}
	return Inbound{}, false
}

// Decoding reports whether the video of a participant has decoded more than
// minFrames frames and its audio has brought more than minAudioBytes bytes.
func (s Stats) Decoding(participant string, minFrames, minAudioBytes int64) bool {
	v, okv := s.Track(participant, "video")
	a, oka := s.Track(participant, "audio")
	return okv && oka && v.FramesDecoded > minFrames && a.BytesReceived > minAudioBytes
}

// String is a one-line summary for test failures.
func (s Stats) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "joined=%v self=%q", s.Joined, s.Participant)
	if s.Error != "" {
		fmt.Fprintf(&b, " error=%q", s.Error)
	}
	for _, o := range s.Publishing {
		fmt.Fprintf(&b, " [out %s/%s %dx%d frames=%d bytes=%d]", o.Kind, o.RID, o.FrameWidth, o.FrameHeight, o.FramesEncoded, o.BytesSent)
	}
	for _, in := range s.Subscribed {
		fmt.Fprintf(&b, " [in %s/%s", in.Name, in.Kind)
		if in.Source == "screen" {
			b.WriteString("/screen")
		}
		if in.Kind == "video" {
			fmt.Fprintf(&b, " %s %dx%d frames=%d fps=%.0f freezes=%d/%.2fs layer=%s", in.Codec, in.FrameWidth, in.FrameHeight, in.FramesDecoded, in.FramesPerSecond, in.FreezeCount, in.TotalFreezesDuration, in.Layer)
		}
		fmt.Fprintf(&b, " bytes=%d lost=%d]", in.BytesReceived, in.PacketsLost)
	}
	return b.String()
}

// LongestWithin is like Longest, counting only the intervals that began
// and ended within [from, to].
func (f Frames) LongestWithin(participant string, from, to float64) float64 {
	var best float64
	for _, g := range f.Gaps {
		if participant != "" && g.Participant != participant && g.Name != participant {
			continue
		}
		if g.At-g.Ms >= from && g.At <= to {
			best = max(best, g.Ms)
		}
	}
	return best
}

// ShownOf is how many video frames of a participant (id or name) the page
// rendered.
func (s Stats) ShownOf(participant string) float64 {
	if n, ok := s.Frames.Shown[participant]; ok {
		return n
	}
	for _, in := range s.Subscribed {
		if in.Name == participant {
			return s.Frames.Shown[in.Participant]
		}
	}
	return 0
}
