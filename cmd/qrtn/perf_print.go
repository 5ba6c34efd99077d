package main

import (
	"fmt"
	"io"
	"time"

	"github.com/qrtn/qrtn/qrtp/perf"
)

func printConnected(w io.Writer, f perfFlags, c perf.Connected) {
	setup := c.Setup.Round(time.Millisecond)
	switch c.Handshake {
	case "0rtt":
		fmt.Fprintf(w, "connected to %s in %v: 0-RTT handshake (server key given)\n", f.client, setup)
	default:
		fmt.Fprintf(w, "connected to %s in %v: 1-RTT handshake, learned the server's key %s\n  (pass --server-key %s for 0-RTT)\n", f.client, setup, c.ServerKey, c.ServerKey)
	}
	what := fmt.Sprintf("%s test, %s, %v, profile %s", f.mode, direction(f.reverse), f.duration, c.Profile)
	if f.mode == perf.ModeMedia {
		what += fmt.Sprintf(", %s bit/s at %g fps, deadline %v", f.bitrate, f.fps, c.Deadline)
	}
	if !f.reverse {
		what += ", cc " + c.CC
	}
	fmt.Fprintln(w, what)
}

func printInterval(w io.Writer, mode string, iv perf.Interval) {
	line := fmt.Sprintf("[%6.2f-%6.2f s] goodput %8.2f Mbit/s  sent %8.2f Mbit/s  rtt %7.2f ms  loss %5.2f%%  retx %5.2f%%  cwnd %9s  %s",
		iv.From, iv.To, iv.GoodputMbit, iv.SentMbit, iv.SmoothedRTT, 100*iv.Loss, 100*iv.RetxRatio, bytesString(iv.CWND), iv.State)
	if mode == perf.ModeMedia {
		line += fmt.Sprintf("  frames %d", iv.Frames)
	}
	fmt.Fprintln(w, line)
}

func printSummary(w io.Writer, r *perf.Result) {
	fmt.Fprintf(w, "summary: %s %s, %s handshake, profile %s, cc %s (goodput measured at the %s)\n",
		r.Mode, r.Direction, r.Handshake, r.Profile, r.CC, r.MeasuredBy)
	fmt.Fprintf(w, "  goodput %.2f Mbit/s over %.2f s (%s), sent %.2f Mbit/s\n",
		r.GoodputMbit, r.DurationS, bytesString(int(r.BytesReceived)), r.SentMbit)
	if r.AckedMbit > 0 {
		fmt.Fprintf(w, "  acknowledged %.2f Mbit/s (unique payload, holes waiting on retransmission included)\n", r.AckedMbit)
	}
	fmt.Fprintf(w, "  retransmit %.2f%%  fec %.2f%%  loss %.2f%%  rtt min %.2f ms avg %.2f ms\n",
		100*r.RetransmitRatio, 100*r.FECRatio, 100*r.LossRatio, r.RTTMinMS, r.RTTAvgMS)
	if m := r.MediaResult; m != nil {
		fmt.Fprintf(w, "  frames: %d sent, %d delivered, %d not complete within 400 ms, %d expired; %d stalls over 600 ms\n",
			m.FramesSent, m.FramesDelivered, m.FramesLate400, m.FramesExpired, m.Stalls600)
		fmt.Fprintf(w, "  frame latency (one way): p50 %.1f ms  p95 %.1f ms  p99 %.1f ms  max %.1f ms  (deadline %.0f ms, clock offset %.2f ms)\n",
			m.LatencyP50MS, m.LatencyP95MS, m.LatencyP99MS, m.LatencyMaxMS, m.DeadlineMS, r.ClockOffsetMS)
	}
}

// bytesString prints a byte count with a binary-ish unit, for humans.
func bytesString(n int) string {
	switch {
	case n >= 1<<30:
		return fmt.Sprintf("%.2f GB", float64(n)/(1<<30))
	case n >= 1<<20:
		return fmt.Sprintf("%.2f MB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1f kB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d B", n)
}
