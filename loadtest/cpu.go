package loadtest

import (
	"bytes"
	"fmt"
	"os"
	"strconv"
	"sync"
	"syscall"
	"time"
)

// clockTicks is Linux's USER_HZ, the unit of /proc/PID/stat times. It is
// 100 on every Linux architecture Go supports.
const clockTicks = 100

// cpuSampler measures CPU time used by the node (when its pid is known)
// and by this process, over a window and over progress intervals.
type cpuSampler struct {
	pid int

	mu               sync.Mutex
	winAt, ivlAt     time.Time
	winNode, ivlNode time.Duration
	winSelf, ivlSelf time.Duration
	winWait, ivlWait time.Duration
	nodeOK           bool
}

func newCPUSampler(pid int) *cpuSampler {
	s := &cpuSampler{pid: pid}
	s.reset(time.Now())
	s.ivlAt, s.ivlNode, s.ivlSelf, s.ivlWait = s.winAt, s.winNode, s.winSelf, s.winWait
	return s
}

// processCPU reads utime+stime of a process from /proc/PID/stat.
func processCPU(pid int) (time.Duration, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	// The command name may hold spaces and parentheses: fields start after the last ')'.
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0, fmt.Errorf("loadtest: /proc/%d/stat: no command field", pid)
	}
	f := bytes.Fields(b[i+1:])
	// After the command: state(3) ... utime is field 14, stime 15 (1-based) → f[11], f[12].
	if len(f) < 13 {
		return 0, fmt.Errorf("loadtest: /proc/%d/stat: short", pid)
	}
	u, err1 := strconv.ParseUint(string(f[11]), 10, 64)
	s, err2 := strconv.ParseUint(string(f[12]), 10, 64)
	if err1 != nil || err2 != nil {
		return 0, fmt.Errorf("loadtest: /proc/%d/stat: bad times", pid)
	}
	return time.Duration(u+s) * time.Second / clockTicks, nil
}

// runQueueWait sums, over a process's threads, the time they spent
// runnable but waiting for a CPU (/proc/PID/task/*/schedstat, second
// field). On a shared machine it tells a starved node from a saturated or
// a blocked one: a node that forwards slowly with little CPU used and a long
// wait was not given the CPU. Threads that exited are not counted.
func runQueueWait(pid int) (time.Duration, error) {
	dir := fmt.Sprintf("/proc/%d/task", pid)
	tasks, err := os.ReadDir(dir)
	if err != nil {
		return 0, err
	}
	var total time.Duration
	for _, t := range tasks {
		b, err := os.ReadFile(dir + "/" + t.Name() + "/schedstat")
		if err != nil {
			continue // the thread exited
		}
		f := bytes.Fields(b)
		if len(f) < 2 {
			continue
		}
		if ns, err := strconv.ParseInt(string(f[1]), 10, 64); err == nil {
			total += time.Duration(ns)
		}
	}
	return total, nil
}

func selfCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func (s *cpuSampler) read() (node time.Duration, ok bool, self, wait time.Duration) {
	self = selfCPU()
	if s.pid > 0 {
		if n, err := processCPU(s.pid); err == nil {
			w, _ := runQueueWait(s.pid)
			return n, true, self, w
		}
	}
	return 0, false, self, 0
}

// reset starts the measurement window.
func (s *cpuSampler) reset(now time.Time) {
	n, ok, self, w := s.read()
	s.mu.Lock()
	defer s.mu.Unlock()
	s.winAt, s.winNode, s.winSelf, s.winWait, s.nodeOK = now, n, self, w, ok
}

// cpuUse is CPU time used per wall-clock second, in cores (1.0 = one core
// busy). node is -1 when the node's pid is unknown or unreadable; nodeWait
// is the node's threads' run-queue wait per wall-clock second.
type cpuUse struct {
	node, self, nodeWait float64
	nodeTime             time.Duration
}

func use(dn, ds, dw, wall time.Duration, ok bool) cpuUse {
	u := cpuUse{node: -1, nodeWait: -1, nodeTime: -1}
	if wall <= 0 {
		return u
	}
	u.self = ds.Seconds() / wall.Seconds()
	if ok {
		u.node = dn.Seconds() / wall.Seconds()
		u.nodeWait = dw.Seconds() / wall.Seconds()
		u.nodeTime = dn
	}
	return u
}

// window is the CPU use since reset.
func (s *cpuSampler) window(now time.Time) cpuUse {
	n, ok, self, w := s.read()
	s.mu.Lock()
	defer s.mu.Unlock()
	return use(n-s.winNode, self-s.winSelf, w-s.winWait, now.Sub(s.winAt), ok && s.nodeOK)
}

// interval is the CPU use since the previous interval.
func (s *cpuSampler) interval(now time.Time) cpuUse {
	n, ok, self, w := s.read()
	s.mu.Lock()
	defer s.mu.Unlock()
	u := use(n-s.ivlNode, self-s.ivlSelf, w-s.ivlWait, now.Sub(s.ivlAt), ok)
	s.ivlAt, s.ivlNode, s.ivlSelf, s.ivlWait = now, n, self, w
	return u
}
