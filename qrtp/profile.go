package qrtp

import (
	"fmt"
	"time"
)

// Profile is a named set of defaults for a use case: how long messages
// live, whether lost media is retransmitted, how streams are prioritised,
// how much FEC may cost and how large the buffers are. Config.Conn,
// Connect's ConnConfig and OpenStream's StreamOptions override any field.
type Profile struct {
	Name string
	// Conn holds the connection defaults.
	Conn ConnConfig
	// Reliable, Message and Datagram are the stream defaults per mode.
	Reliable, Message, Datagram StreamOptions
}

func (p *Profile) streamDefaults(m Mode) StreamOptions {
	switch m {
	case ModeMessage:
		return p.Message
	case ModeDatagram:
		return p.Datagram
	}
	return p.Reliable
}

// baseConn is what every profile starts from.
func baseConn() ConnConfig {
	return ConnConfig{
		// qbbr is the default: it keeps long, lossy trunks full (docs/benchmarks.md).
		CongestionControl:      "qbbr",
		IdleTimeout:            30 * time.Second,
		KeepAlive:              10 * time.Second,
		MaxAckDelay:            10 * time.Millisecond,
		MaxIncomingStreams:     256,
		StreamReceiveWindow:    512 << 10,
		MaxStreamReceiveWindow: 8 << 20,
		ConnReceiveWindow:      1 << 20,
		MaxConnReceiveWindow:   16 << 20,
		MessageBuffer:          4 << 20,
		ConnMessageBuffer:      32 << 20,
		MaxMessageSize:         4 << 20,
		DatagramQueue:          256,
		PacerBurst:             time.Millisecond,
		MaxEvents:              1 << 16,
	}
}

// mediaInitialWindow is the first round trip's window of the media
// profiles, in packets: it must carry the first video frames with the FEC
// a lossy path needs until the loss estimate exists (up to four times the
// frame at 50% loss). The controllers' 32 packets carried 1.3 such frames
// per round trip, so at RTT 200 ms the first half second of frames queued
// behind the window and missed their deadline.
const mediaInitialWindow = 64

func mediaConn() ConnConfig {
	c := baseConn()
	c.InitialWindow = mediaInitialWindow
	return c
}

// Profiles returns the built-in profiles.
func Profiles() []Profile {
	meeting := Profile{Name: "meeting", Conn: mediaConn(),
		// Latency first: a message that cannot arrive within 300 ms is
		// worthless to a conversation. The FEC budget is sized for the
		// media target (50% loss, RTT 200 ms, 99.5% of frames within
		// 400 ms): no retransmission round fits in 300 ms there (loss is
		// detected an RTT after sending, and the resend needs another
		// 100 ms), so FEC alone must carry a 6-packet frame. With the
		// estimate's margin (one standard error, 52.5% over 400 samples)
		// the policy's 0.1% per frame takes 23 repairs (M/K 3.83). The
		// budget used to be 3 (18 repairs), which fails 0.33% of frames at
		// exactly 50% and 0.76% at 53%: a 20 s run missed 99.5% about one
		// time in four on an ideal machine. The budget is a ceiling: it
		// binds only above about 45% loss; on a clean link nothing is
		// spent, at 5% loss about 20%.
		Reliable: StreamOptions{Priority: PriorityControl, SendBuffer: 4 << 20},
		Message:  StreamOptions{Priority: PriorityVideo, Deadline: 300 * time.Millisecond, Retransmit: RetransmitInTime, FECBudget: 4, SendBuffer: 4 << 20},
		Datagram: StreamOptions{Priority: PriorityAudio, Deadline: 100 * time.Millisecond, SendBuffer: 1 << 20},
	}
	live := Profile{Name: "live", Conn: mediaConn(),
		// Quality first: viewers tolerate a second of delay, which leaves
		// room for retransmission rounds (four at RTT 200 ms), so FEC only
		// needs to bring the rest within reach: at 50% loss M/K 2.17, a
		// budget of 2.5 with room for the estimate's noise.
		Reliable: StreamOptions{Priority: PriorityControl, SendBuffer: 4 << 20},
		Message:  StreamOptions{Priority: PriorityVideo, Deadline: time.Second, Retransmit: RetransmitInTime, FECBudget: 2.5, SendBuffer: 8 << 20},
		Datagram: StreamOptions{Priority: PriorityAudio, Deadline: 200 * time.Millisecond, SendBuffer: 1 << 20},
	}
	bulk := Profile{Name: "bulk", Conn: baseConn(),
		// Throughput first: no FEC, large windows so a long fat lossy path
		// stays full while holes are repaired.
		Reliable: StreamOptions{Priority: PriorityBulk, SendBuffer: 64 << 20, FECBudget: -1},
		Message:  StreamOptions{Priority: PriorityBulk, Deadline: 5 * time.Second, Retransmit: RetransmitInTime, FECBudget: -1, SendBuffer: 16 << 20},
		Datagram: StreamOptions{Priority: PriorityBulk, Deadline: time.Second, SendBuffer: 1 << 20},
	}
	bulk.Conn.StreamReceiveWindow = 4 << 20
	bulk.Conn.MaxStreamReceiveWindow = 64 << 20
	bulk.Conn.ConnReceiveWindow = 8 << 20
	bulk.Conn.MaxConnReceiveWindow = 96 << 20
	bulk.Conn.MaxAckDelay = 5 * time.Millisecond
	return []Profile{meeting, live, bulk}
}

// LookupProfile returns the built-in profile with that name.
func LookupProfile(name string) (Profile, error) {
	for _, p := range Profiles() {
		if p.Name == name {
			return p, nil
		}
	}
	return Profile{}, fmt.Errorf("qrtp: unknown profile %q (meeting, live, bulk)", name)
}
