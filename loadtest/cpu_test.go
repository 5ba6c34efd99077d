package loadtest

import (
	"os"
	"testing"
	"time"
)

func TestProcessCPUReadsThisProcess(t *testing.T) {
	// Burn a little CPU so the reading is not zero at 10 ms granularity.
	deadline := time.Now().Add(50 * time.Millisecond)
	for x := 0; time.Now().Before(deadline); x++ {
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
