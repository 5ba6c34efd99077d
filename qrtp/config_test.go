package qrtp

import (
	"testing"
	"time"
)

func TestProfileLayering(t *testing.T) {
	// Profile defaults, endpoint overrides, connection overrides, stream
	// overrides: each layer wins over the ones before it.
	endpoint := ConnConfig{Profile: "meeting", KeepAlive: 3 * time.Second, Stream: StreamOptions{SendBuffer: 1 << 20}}
	conn, prof, err := resolveConn(endpoint, ConnConfig{IdleTimeout: 7 * time.Second, CongestionControl: "cubic"})
	if err != nil {
		t.Fatal(err)
	}
	if conn.Profile != "meeting" || conn.KeepAlive != 3*time.Second || conn.IdleTimeout != 7*time.Second || conn.CongestionControl != "cubic" {
		t.Fatalf("conn %+v", conn)
	}
	s, err := resolveStream(&prof, &conn, StreamOptions{Mode: ModeMessage})
	if err != nil {
		t.Fatal(err)
	}
	if s.Deadline != 300*time.Millisecond || s.Priority != PriorityVideo || s.SendBuffer != 1<<20 || s.Retransmit != RetransmitInTime {
		t.Fatalf("message stream %+v", s)
	}
	s, _ = resolveStream(&prof, &conn, StreamOptions{Mode: ModeMessage, Deadline: time.Second, Priority: PriorityAudio})
	if s.Deadline != time.Second || s.Priority != PriorityAudio {
		t.Fatalf("stream overrides %+v", s)
	}
	// A per-connection profile switches every default.
	conn, prof, _ = resolveConn(endpoint, ConnConfig{Profile: "bulk"})
	s, _ = resolveStream(&prof, &conn, StreamOptions{})
	if conn.MaxStreamReceiveWindow != 64<<20 || s.Priority != PriorityBulk || s.SendBuffer != 1<<20 {
		t.Fatalf("bulk: %+v %+v", conn, s)
	}
	if _, _, err := resolveConn(ConnConfig{Profile: "nope"}, ConnConfig{}); err == nil {
		t.Error("unknown profile accepted")
	}
	if _, err := resolveStream(&prof, &conn, StreamOptions{Priority: 9}); err == nil {
		t.Error("priority 9 accepted")
	}
	if _, _, err := resolveConn(ConnConfig{KeepAlive: time.Minute, IdleTimeout: time.Second}, ConnConfig{}); err == nil {
		t.Error("keep-alive beyond idle timeout accepted")
	}
	for _, p := range Profiles() {
		if p.Message.Deadline <= 0 || p.Message.Retransmit == RetransmitInherit || p.Reliable.Priority == 0 {
			t.Errorf("profile %s incomplete: %+v", p.Name, p)
		}
	}
}
