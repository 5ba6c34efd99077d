package loadtest

import (
	"net"
	"os"
	"testing"
	"time"
)

func TestProcessCPUReadsThisProcess(t *testing.T) {
	// Burn a little CPU so the reading is not zero at 10 ms granularity.
	// Count CPU, not wall time: on a busy machine 50 ms of wall time can be
	// almost no CPU for this process.
	start, deadline := selfCPU(), time.Now().Add(10*time.Second)
	for x := 0; selfCPU()-start < 50*time.Millisecond && time.Now().Before(deadline); x++ {
		_ = x * x
	}
	d, err := processCPU(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	if d <= 0 || d > selfCPU()+time.Second {
		t.Fatalf("/proc says %v, getrusage %v", d, selfCPU())
	}
	if _, err := processCPU(1 << 30); err == nil {
		t.Fatal("a pid that cannot exist has CPU time")
	}
}

func TestCPUSamplerWithoutPID(t *testing.T) {
	s := newCPUSampler(0)
	u := s.window(time.Now().Add(time.Second))
	if u.node != -1 || u.self < 0 {
		t.Fatalf("%+v: want node -1 (unknown)", u)
	}
}

func TestUDPDropsOfThisProcess(t *testing.T) {
	if _, err := os.Stat("/proc/net/udp"); err != nil {
		t.Skip("no /proc/net/udp")
	}
	c, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	inodes, err := socketInodes(os.Getpid())
	if err != nil || len(inodes) == 0 {
		t.Fatalf("no socket inodes: %v", err)
	}
	if _, err := udpDrops(os.Getpid()); err != nil {
		t.Fatal(err)
	}
}
