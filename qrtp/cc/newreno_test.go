package cc

import (
	"errors"
	"testing"
	"time"
)

func TestNewRenoSlowStartThenHalvesOncePerRound(t *testing.T) {
	t0 := time.Unix(0, 0)
	c, err := New("newreno", Config{MSS: 1000, InitialWindow: 10})
	if err != nil {
		t.Fatal(err)
	}
	if got := c.CongestionWindow(); got != 10000 {
		t.Fatalf("initial cwnd %d, want 10000", got)
	}
	c.OnCongestionEvent(t0.Add(time.Millisecond), &CongestionEvent{
		Acked: []Packet{{Number: 1, Bytes: 1000, SentTime: t0.Add(time.Microsecond)}},
		RTT:   RTTStats{Smoothed: 10 * time.Millisecond},
	})
	if got := c.CongestionWindow(); got != 11000 {
		t.Fatalf("slow start cwnd %d, want 11000", got)
	}
	lossAt := t0.Add(20 * time.Millisecond)
	c.OnCongestionEvent(lossAt, &CongestionEvent{Lost: []Packet{{Number: 2, Bytes: 1000, SentTime: t0.Add(2 * time.Microsecond)}}})
	if got := c.CongestionWindow(); got != 5500 {
		t.Fatalf("after loss cwnd %d, want 5500", got)
	}
	// A second loss from the same flight must not cut again.
	c.OnCongestionEvent(lossAt.Add(time.Millisecond), &CongestionEvent{Lost: []Packet{{Number: 3, Bytes: 1000, SentTime: t0.Add(3 * time.Microsecond)}}})
	if got := c.CongestionWindow(); got != 5500 {
		t.Fatalf("second loss in the same round cut cwnd to %d", got)
	}
	if c.Stats().State != "recovery" {
		t.Fatalf("state %q, want recovery", c.Stats().State)
	}
}

func TestNewUnknownController(t *testing.T) {
	if _, err := New("nope", Config{}); err == nil {
		t.Fatal("want error for unknown controller")
	}
}

func TestNewWithParameters(t *testing.T) {
	c, err := New("qbbr:probertt=2s,strict,seed=9,iw=10", Config{MSS: 1000})
	if err != nil {
		t.Fatal(err)
	}
	q := c.(*QBBR)
	if q.probeRTTInterval != 2*time.Second || !q.cfg.StrictProbeRTT || q.cfg.Seed != 9 || q.cwnd != 10_000 {
		t.Fatalf("parameters not applied: interval %v strict %v seed %d cwnd %d", q.probeRTTInterval, q.cfg.StrictProbeRTT, q.cfg.Seed, q.cwnd)
	}
	for _, bad := range []string{"qbbr:probertt=x", "qbbr:nope=1", "qbbr:iw=0", "bbr1:strict=maybe", "qbbr:probertt=-1s"} {
		if _, err := New(bad, Config{}); !errors.Is(err, ErrBadParam) {
			t.Errorf("%s: err %v, want ErrBadParam", bad, err)
		}
	}
	if names := Names(); len(names) != 4 {
		t.Fatalf("names %v", names)
	}
}

// FuzzNew checks that no controller name, however malformed, panics New.
func FuzzNew(f *testing.F) {
	for _, s := range []string{"qbbr", "bbr1:seed=1", "qbbr:probertt=1s,strict", "cubic:iw=4", ":", "qbbr:,", "qbbr:strict=", "newreno:iw=99999999999999999999"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, name string) {
		c, err := New(name, Config{})
		if err == nil && c.CongestionWindow() <= 0 {
			t.Fatalf("%q: window %d", name, c.CongestionWindow())
		}
	})
}
