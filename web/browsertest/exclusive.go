package browsertest

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// LockFile is the file, in os.TempDir(), whose flock makes browser tests
// take turns on a machine. `go test ./...` runs the test binaries of
// several packages at once; without it, web's and cmd/qrtn's browsers
// would share two cores and both stutter. It is not /tmp/qrtn-browser.lock,
// which people take by hand around a whole `go test` (flock(1)): taking the
// same file again from inside would wait on that outer lock for ever.
const LockFile = "qrtn-browsertest.lock"

// turn is the process's side of the machine-wide turn: a semaphore for
// tests of one binary (t.Parallel) and the flocked file for other binaries.
// It is owned by the test that holds it; a subtest of the holder (its name
// starts with the holder's name and a slash) shares the turn.
type turn struct {
	sem chan struct{} // capacity 1: the process holds the turn

	mu     sync.Mutex
	holder string // name of the test holding the turn, "" when free
}

// machine is this process's turn. It is the package's only state: a lock is
// by nature process-wide, and tests cannot pass it to one another.
var machine = &turn{sem: make(chan struct{}, 1)}

// Exclusive makes t the only test on this machine that runs a browser, until
// t ends: it waits for the turn (tests of this binary and, through a flocked
// file in os.TempDir(), of every other test binary), then starts the CPU
// hogs QRTN_TEST_HOGS asks for (see Hogs). StartT calls it; a test that sets
// up heavy things (a network of nodes) before its browser calls it first,
// so that it does not load the machine while another test measures.
// Subtests of a test that holds the turn share it.
func Exclusive(t testing.TB) {
	t.Helper()
	Require(t)
	name := t.Name()
	machine.mu.Lock()
	h := machine.holder
	machine.mu.Unlock()
	if h != "" && (name == h || strings.HasPrefix(name, h+"/")) {
		return // the turn is already ours
	}
	start := time.Now()
	machine.sem <- struct{}{}
	release, err := lockFile(filepath.Join(os.TempDir(), LockFile), t.Logf)
	if err != nil {
		<-machine.sem
		t.Fatalf("browsertest: %v", err)
	}
	if w := time.Since(start); w > time.Second {
		t.Logf("browsertest: waited %v for the machine's browser turn", w.Round(100*time.Millisecond))
	}
	machine.mu.Lock()
	machine.holder = name
	machine.mu.Unlock()
	stopHogs := func() {}
	n, err := HogsFromEnv()
	if err == nil {
		stopHogs, err = StartHogs(n)
	}
	if err != nil {
		t.Errorf("browsertest: %v", err)
	} else if n > 0 {
		t.Logf("browsertest: %d CPU hogs run beside this test (%s)", n, HogsEnv)
	}
	t.Cleanup(func() {
		stopHogs()
		machine.mu.Lock()
		machine.holder = ""
		machine.mu.Unlock()
		release()
		<-machine.sem
	})
}

// lockFile takes the machine-wide flock, logging once who holds it when it
// has to wait. It polls (LOCK_NB) so that a test binary killed by -timeout
// leaves no thread blocked in the kernel; the kernel drops a dead holder's
// lock.
func lockFile(path string, logf func(string, ...any)) (release func(), err error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o666)
	if err != nil {
		return nil, fmt.Errorf("opening %s: %w", path, err)
	}
	logged := false
	for {
		err = syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
		if err == nil {
			break
		}
		if err != syscall.EWOULDBLOCK {
			f.Close()
			return nil, fmt.Errorf("flock %s: %w", path, err)
		}
		if !logged {
			b := make([]byte, 64)
			n, _ := f.ReadAt(b, 0)
			logf("browsertest: another test binary (pid %s) runs a browser; waiting for %s", strings.TrimSpace(string(b[:n])), path)
			logged = true
		}
		time.Sleep(250 * time.Millisecond)
	}
	// The holder's pid, for the message above in other processes.
	_ = f.Truncate(0)
	_, _ = f.WriteAt([]byte(strconv.Itoa(os.Getpid())+"\n"), 0)
	return func() {
		_ = syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
		f.Close()
	}, nil
}
