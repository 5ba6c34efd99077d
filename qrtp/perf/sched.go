package perf

import (
	"math"
	"os"
	"path/filepath"
	"runtime/metrics"
	"strconv"
	"strings"
	"time"
)

// SchedStats says how much the machine held this process back during a
// test: a media frame late by more than its slack on a busy machine may be
// the scheduler's doing rather than the protocol's. Zero where the system
// does not tell (RunDelayMS and CPUMS come from Linux's
// /proc/self/task/*/schedstat).
type SchedStats struct {
	// CPUMS is the CPU time of all the process's threads, RunDelayMS the
	// time they were runnable but waited for a CPU.
	CPUMS      float64 `json:"cpu_ms"`
	RunDelayMS float64 `json:"run_delay_ms"`
	// WaitPerRunMS is RunDelayMS over the times a thread was put on a
	// CPU: how long a wake-up (a timer, a datagram) typically waited for
	// one. Tenths of a millisecond on an idle machine.
	WaitPerRunMS float64 `json:"wait_per_run_ms"`
	// GoWaitP999MS and GoWaitsOver50ms: goroutines made runnable (a timer
	// fired, a datagram arrived) that waited before they ran, from the Go
	// runtime (/sched/latencies:seconds); only waits in the runtime's
	// queues, not a running thread the kernel preempted.
	GoWaitP999MS    float64 `json:"go_wait_p999_ms"`
	GoWaitsOver50ms uint64  `json:"go_waits_over_50ms"`
}

// schedMark is the cumulative counters at one moment.
type schedMark struct {
	cpu, delay time.Duration
	runs       int64
	lat        metrics.Float64Histogram
}

const schedLatencies = "/sched/latencies:seconds"

func markSched() schedMark {
	var m schedMark
	m.cpu, m.delay, m.runs = taskSchedstat()
	s := []metrics.Sample{{Name: schedLatencies}}
	metrics.Read(s)
	if s[0].Value.Kind() == metrics.KindFloat64Histogram {
		h := s[0].Value.Float64Histogram()
		m.lat = metrics.Float64Histogram{Counts: append([]uint64(nil), h.Counts...), Buckets: h.Buckets}
	}
	return m
}

// since is what happened between an earlier mark and now.
func (m schedMark) since() *SchedStats {
	now := markSched()
	st := &SchedStats{CPUMS: ms(max(now.cpu-m.cpu, 0)), RunDelayMS: ms(max(now.delay-m.delay, 0))}
	if runs := now.runs - m.runs; runs > 0 {
		st.WaitPerRunMS = st.RunDelayMS / float64(runs)
	}
	h := now.lat
	if len(h.Counts) == 0 || len(m.lat.Counts) != len(h.Counts) {
		return st
	}
	d := make([]uint64, len(h.Counts))
	var total uint64
	for i := range d {
		d[i] = h.Counts[i] - m.lat.Counts[i]
		total += d[i]
		if h.Buckets[i] >= 0.050 {
			st.GoWaitsOver50ms += d[i]
		}
	}
	if total == 0 {
		return st
	}
	rank, seen := uint64(math.Ceil(0.999*float64(total))), uint64(0)
	for i, c := range d {
		if seen += c; seen >= rank {
			// The bucket's upper edge: a conservative figure.
			if up := h.Buckets[i+1]; !math.IsInf(up, 1) {
				st.GoWaitP999MS = up * 1000
			} else {
				st.GoWaitP999MS = h.Buckets[i] * 1000
			}
			break
		}
	}
	return st
}

// taskSchedstat sums the CPU and run-queue wait times and the times put on
// a CPU of every thread of the process (zeros where /proc does not have
// them).
func taskSchedstat() (cpu, delay time.Duration, runs int64) {
	dirs, _ := filepath.Glob("/proc/self/task/*/schedstat")
	for _, p := range dirs {
		b, err := os.ReadFile(p)
		if err != nil {
			continue
		}
		f := strings.Fields(string(b))
		if len(f) < 3 {
			continue
		}
		c, err1 := strconv.ParseInt(f[0], 10, 64)
		w, err2 := strconv.ParseInt(f[1], 10, 64)
		n, err3 := strconv.ParseInt(f[2], 10, 64)
		if err1 == nil && err2 == nil && err3 == nil {
			cpu += time.Duration(c)
			delay += time.Duration(w)
			runs += n
		}
	}
	return cpu, delay, runs
}
