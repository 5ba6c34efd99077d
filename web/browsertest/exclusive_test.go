package browsertest

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestLockFileExcludes: a second holder of the lock file (another open of
// it, as another test binary would make) waits until the first releases.
func TestLockFileExcludes(t *testing.T) {
	path := filepath.Join(t.TempDir(), "lock")
	release, err := lockFile(path, t.Logf)
	if err != nil {
		t.Fatal(err)
	}
	got := make(chan func(), 1)
	go func() {
		r, err := lockFile(path, func(string, ...any) {})
		if err != nil {
			t.Error(err)
			r = func() {}
		}
		got <- r
	}()
	select {
	case r := <-got:
		r()
		t.Fatal("a second holder took the lock while the first held it")
	case <-time.After(600 * time.Millisecond):
	}
	release()
	select {
	case r := <-got:
		r()
	case <-time.After(10 * time.Second):
		t.Fatal("the second holder did not get the lock after the first released it")
	}
	b, _ := os.ReadFile(path)
	if strings.TrimSpace(string(b)) != strconv.Itoa(os.Getpid()) {
		t.Errorf("lock file holds %q, want this pid", b)
	}
}

// TestHogsBurnAndStop: a hog uses CPU while it runs and is gone after stop.
func TestHogsBurnAndStop(t *testing.T) {
	stop, err := StartHogs(1)
	if err != nil {
		t.Fatal(err)
	}
	defer stop()
	// Find the hog: the only child of this process running sh.
	ents, _ := os.ReadDir("/proc")
	var pid int
	for _, e := range ents {
		n, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		b, err := os.ReadFile(filepath.Join("/proc", e.Name(), "stat"))
		if err != nil {
			continue
		}
		f := strings.Fields(string(b[strings.LastIndexByte(string(b), ')')+2:]))
		if ppid, _ := strconv.Atoi(f[1]); ppid == os.Getpid() {
			pid = n
		}
	}
	if pid == 0 {
		t.Fatal("no hog process found among this process's children")
	}
	ticks := func() int {
		b, _ := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "stat"))
		f := strings.Fields(string(b[strings.LastIndexByte(string(b), ')')+2:]))
		u, _ := strconv.Atoi(f[11]) // utime
		s, _ := strconv.Atoi(f[12]) // stime
		return u + s
	}
	deadline := time.Now().Add(10 * time.Second)
	for ticks() < 5 { // 50 ms of CPU at the usual 100 Hz
		if time.Now().After(deadline) {
			t.Fatalf("hog %d used %d ticks of CPU in 10 s", pid, ticks())
		}
		time.Sleep(100 * time.Millisecond)
	}
	stop()
	if err := syscall.Kill(pid, 0); err == nil {
		t.Fatalf("hog %d still runs after stop", pid)
	}
}

func TestHogsFromEnv(t *testing.T) {
	for v, want := range map[string]int{"": 0, "0": 0, "2": 2, "64": 64, "65": -1, "x": -1, "-1": -1} {
		t.Setenv(HogsEnv, v)
		n, err := HogsFromEnv()
		if want < 0 && err == nil || want >= 0 && (err != nil || n != want) {
			t.Errorf("%s=%q: %d, %v", HogsEnv, v, n, err)
		}
	}
}
