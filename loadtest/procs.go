package loadtest

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os/exec"
	"sort"
	"strings"
	"time"
)

// Several processes: one process of synthetic pion clients receives about
// 70,000 packets a second on one core (≈14 µs each: a socket read, SRTP,
// the interceptors, the accounting). A node that forwards more than that
// is measured only if the subscribers are spread over processes, on more
// cores or machines. With Config.Procs > 1, this process joins the
// publishers and measures the node; Procs child processes (Config.Spawn)
// each join a share of the subscribers and report them; the window opens
// for all at once.
//
// The protocol with a child is lines on its standard streams: the child
// prints "READY" once its subscribers joined, waits for a line on its
// standard input, measures for Duration, and prints its report as JSON.

// ChildIO connects a child process to its coordinator (see Config.Procs).
type ChildIO struct {
	In  io.Reader // the coordinator's "start" line
	Out io.Writer // "READY"
}

const childReady = "READY"

// waitStart tells the coordinator that the child's subscribers joined and
// waits for the signal to open the window.
func (c *ChildIO) waitStart(ctx context.Context) error {
	if _, err := fmt.Fprintln(c.Out, childReady); err != nil {
		return err
	}
	line := make(chan error, 1)
	go func() {
		_, err := bufio.NewReader(c.In).ReadString('\n')
		line <- err
	}()
	select {
	case err := <-line:
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// shares splits n subscribers over procs processes.
func shares(n, procs int) []int {
	out := make([]int, procs)
	for i := range out {
		out[i] = n / procs
		if i < n%procs {
			out[i]++
		}
	}
	return out
}

// child is one spawned subscriber process.
type child struct {
	cmd   *exec.Cmd
	in    io.WriteCloser
	out   *bufio.Reader
	ready chan error
}

func startChild(cmd *exec.Cmd) (*child, error) {
	in, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("loadtest: starting a subscriber process: %w", err)
	}
	c := &child{cmd: cmd, in: in, out: bufio.NewReader(out), ready: make(chan error, 1)}
	go func() {
		line, err := c.out.ReadString('\n')
		if err == nil && strings.TrimSpace(line) != childReady {
			err = fmt.Errorf("loadtest: a subscriber process said %q", strings.TrimSpace(line))
		}
		c.ready <- err
	}()
	return c, nil
}

// report reads the child's JSON report and waits for it to exit.
func (c *child) report() (*Report, error) {
	var rep Report
	err := json.NewDecoder(c.out).Decode(&rep)
	werr := c.cmd.Wait()
	if err != nil {
		return nil, errors.Join(fmt.Errorf("loadtest: a subscriber process's report: %w", err), werr)
	}
	return &rep, nil
}

// runProcs is Run with the subscribers in Procs child processes.
func (r *runner) runProcs(ctx context.Context) (*Report, error) {
	cfg := r.cfg
	kids := make([]*child, 0, cfg.Procs)
	defer func() {
		for _, k := range kids {
			_ = k.in.Close()
			if k.cmd.ProcessState == nil {
				_ = k.cmd.Process.Kill()
				_ = k.cmd.Wait()
			}
		}
	}()
	for i, n := range shares(cfg.Subscribers, cfg.Procs) {
		k, err := startChild(cfg.Spawn(i, n, cfg.JoinRate/float64(cfg.Procs)))
		if err != nil {
			return nil, err
		}
		kids = append(kids, k)
	}
	fmt.Fprintf(r.out, "loadtest: %d subscribers in %d processes\n", cfg.Subscribers, cfg.Procs)
	for _, k := range kids {
		select {
		case err := <-k.ready:
			if err != nil {
				return nil, err
			}
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	if err := sleep(ctx, cfg.Warmup); err != nil {
		return nil, err
	}
	for _, k := range kids {
		if _, err := fmt.Fprintln(k.in, "start"); err != nil {
			return nil, fmt.Errorf("loadtest: starting a subscriber process's window: %w", err)
		}
	}
	r.resetWindow()
	_ = sleep(ctx, cfg.Duration)
	rep := r.report(time.Now())
	for _, k := range kids {
		kr, err := k.report()
		if err != nil {
			return nil, err
		}
		merge(rep, kr)
	}
	finishMerge(rep)
	return rep, nil
}

// merge adds a subscriber process's report to the coordinator's. Counts
// add up; latency percentiles are the worst process's (percentiles do not
// add); join and first-frame percentiles are recomputed in finishMerge.
func merge(rep, kid *Report) {
	rep.Subscribers += kid.Subscribers
	rep.JoinFailed += kid.JoinFailed
	rep.JoinErrors = append(rep.JoinErrors, kid.JoinErrors...)
	if rep.VideoTracks+kid.VideoTracks > 0 {
		w := float64(kid.VideoTracks) / float64(rep.VideoTracks+kid.VideoTracks)
		rep.VideoKbps += w * (kid.VideoKbps - rep.VideoKbps)
		rep.VideoLoss += w * (kid.VideoLoss - rep.VideoLoss)
		rep.VideoRawLoss += w * (kid.VideoRawLoss - rep.VideoRawLoss)
	}
	if kid.VideoTracks > 0 && (rep.VideoKbpsMin == 0 || kid.VideoKbpsMin < rep.VideoKbpsMin) {
		rep.VideoKbpsMin = kid.VideoKbpsMin
	}
	rep.AudioLoss = max(rep.AudioLoss, kid.AudioLoss)
	rep.VideoTracks += kid.VideoTracks
	rep.AudioTracks += kid.AudioTracks
	rep.LatencyP50, rep.LatencyP95, rep.LatencyP99 = max(rep.LatencyP50, kid.LatencyP50), max(rep.LatencyP95, kid.LatencyP95), max(rep.LatencyP99, kid.LatencyP99)
	rep.AudioP95 = max(rep.AudioP95, kid.AudioP95)
	rep.Frames += kid.Frames
	rep.MissedFrames += kid.MissedFrames
	rep.Stalls += kid.Stalls
	rep.Stalled += kid.Stalled
	rep.AudioStalls += kid.AudioStalls
	rep.NoFirstFrame += kid.NoFirstFrame
	rep.Packets += kid.Packets
	rep.SelfCPU += kid.SelfCPU
	if kid.SelfUDPDrops >= 0 && rep.SelfUDPDrops >= 0 {
		rep.SelfUDPDrops += kid.SelfUDPDrops
	}
	for l, n := range kid.VideoLayers {
		if rep.VideoLayers == nil {
			rep.VideoLayers = map[string]int{}
		}
		rep.VideoLayers[l] += n
	}
	rep.Clients = append(rep.Clients, kid.Clients...)
}

// finishMerge recomputes what depends on every process's figures.
func finishMerge(rep *Report) {
	if rep.WindowS > 0 {
		rep.PacketRate = float64(rep.Packets) / rep.WindowS
	}
	if rep.NodeCPU >= 0 && rep.Packets > 0 {
		rep.NodeUsPerPkt = rep.NodeCPU * rep.WindowS * 1e6 / float64(rep.Packets)
	}
	var joins, firsts []float64
	for _, c := range rep.Clients {
		if c.JoinMs > 0 {
			joins = append(joins, c.JoinMs)
		}
		if !c.Publisher && c.FirstFrameMs >= 0 {
			firsts = append(firsts, c.FirstFrameMs)
		}
	}
	rep.JoinP50, rep.JoinP95 = percentile(joins, .5), percentile(joins, .95)
	rep.FirstP50, rep.FirstP95 = percentile(firsts, .5), percentile(firsts, .95)
	sort.SliceStable(rep.Clients, func(i, j int) bool { return rep.Clients[i].Publisher && !rep.Clients[j].Publisher })
}
