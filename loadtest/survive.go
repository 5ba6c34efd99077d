package loadtest

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sort"
	"time"

	"github.com/pion/webrtc/v4"
)

// Survival benchmarks: one synthetic publisher and one subscriber (on the
// same node or on different ones), and a series of trials. Each trial
// waits until media flows, disrupts (Disrupt: cut the websockets, cut the
// ICE paths, kill or drain a node), waits until the clients have recovered
// and media flows again, and measures the media gap at the subscriber: the
// longest time without a video (and audio) frame from the publisher.

// SurviveConfig is a survival benchmark.
type SurviveConfig struct {
	URL           string // the publisher's node
	SubscriberURL string // the subscriber's node ("" = URL)
	Room          string
	Trials        int
	// Settle is how long media must have flowed before a disruption (3 s);
	// Recover bounds the wait for media after one (30 s).
	Settle, Recover time.Duration
	// Disrupt makes trial i's trouble; Restore, when set, undoes it after
	// the trial was measured (restarts a killed node).
	Disrupt func(ctx context.Context, trial int, s *Survivors) error
	Restore func(ctx context.Context, trial int, s *Survivors) error
	Media   MediaConfig
	Token   TokenFunc // nil: the nodes' dev-mode /api/token
	Logger  *slog.Logger
}

// Survivors are the two clients, for Disrupt.
type Survivors struct{ pub, sub *client }

// CutWebsockets drops both clients' websockets without a close frame, as
// a broken network does; the clients resume.
func (s *Survivors) CutWebsockets() {
	for _, c := range []*client{s.pub, s.sub} {
		if l := c.current(); l != nil {
			l.mu.Lock()
			ws := l.ws
			l.mu.Unlock()
			if ws != nil {
				_ = ws.c.UnderlyingConn().Close()
			}
		}
	}
}

// PublisherNode and SubscriberNode name the nodes the clients are on now.
func (s *Survivors) PublisherNode() string  { return s.pub.nodeName() }
func (s *Survivors) SubscriberNode() string { return s.sub.nodeName() }

func (c *client) nodeName() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.rec.node
}

// TrialReport is one disruption.
type TrialReport struct {
	Trial      int     `json:"trial"`
	VideoGapMs float64 `json:"video_gap_ms"` // 0: no gap over 100 ms
	AudioGapMs float64 `json:"audio_gap_ms"`
	// The same, counting only what the publisher did not leave itself
	// (Gap.NetMs): a synthetic publisher starved of CPU on a loaded machine
	// pauses its own frames, which no recovery can help.
	VideoNetGapMs float64     `json:"video_net_gap_ms"`
	AudioNetGapMs float64     `json:"audio_net_gap_ms"`
	Recovered     bool        `json:"recovered"` // media flowed again within Recover
	PubNode       string      `json:"publisher_node"`
	Reconnects    []Reconnect `json:"reconnects"` // of both clients, during the trial
	// Gaps are the subscriber's silences of minGap or more in the trial's
	// window (when, how long, of which kind), to place them among the
	// reconnects.
	Gaps []Gap `json:"gaps,omitempty"`
	// Events are both clients' timelines (timeline.go) from a second
	// before the disruption to the end of the trial.
	Events []Event   `json:"events,omitempty"`
	Start  time.Time `json:"start"` // the disruption
	Error  string    `json:"error,omitempty"`
}

// SurviveReport is a survival benchmark's result. Gaps are at the
// subscriber, in ms, over the trials that recovered.
type SurviveReport struct {
	Trials      []TrialReport `json:"trials"`
	Failed      int           `json:"failed"` // trials whose media did not come back
	VideoGapP50 float64       `json:"video_gap_p50_ms"`
	VideoGapP95 float64       `json:"video_gap_p95_ms"`
	VideoGapMax float64       `json:"video_gap_max_ms"`
	AudioGapP50 float64       `json:"audio_gap_p50_ms"`
	AudioGapP95 float64       `json:"audio_gap_p95_ms"`
	// VideoGaps and VideoNetGaps count the recovered trials with a video
	// gap (of minGap or more) and with one the publisher did not leave.
	VideoGaps      int     `json:"video_gaps"`
	VideoNetGaps   int     `json:"video_net_gaps"`
	VideoNetGapP50 float64 `json:"video_net_gap_p50_ms"`
	VideoNetGapP95 float64 `json:"video_net_gap_p95_ms"`
	VideoNetGapMax float64 `json:"video_net_gap_max_ms"`
	AudioNetGapP95 float64 `json:"audio_net_gap_p95_ms"`
	// MoveGaps counts the recovered trials with a gap (video or audio, of
	// minGap or more) that a move left: the old tracks stopped before the
	// new ones delivered (Gap.Cause "move"); MoveGapMax is the longest.
	// The other gaps are frames lost or late on one track, as on a loaded
	// machine without any disruption.
	MoveGaps   int     `json:"move_gaps"`
	MoveGapMax float64 `json:"move_gap_max_ms"`
}

// Survive runs a survival benchmark; progress gets one line per trial.
func Survive(ctx context.Context, cfg SurviveConfig, progress io.Writer) (*SurviveReport, error) {
	if cfg.URL == "" || cfg.Trials < 1 || cfg.Disrupt == nil {
		return nil, errors.New("loadtest: survive needs a URL, at least one trial and a disruption")
	}
	if cfg.SubscriberURL == "" {
		cfg.SubscriberURL = cfg.URL
	}
	if cfg.Settle <= 0 {
		cfg.Settle = 3 * time.Second
	}
	if cfg.Recover <= 0 {
		cfg.Recover = 30 * time.Second
	}
	if cfg.Media.FPS == 0 {
		cfg.Media = DefaultMedia()
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if progress == nil {
		progress = io.Discard
	}
	pub, sub, err := surviveClients(ctx, cfg)
	if err != nil {
		return nil, err
	}
	defer pub.close()
	defer sub.close()
	_, _, pubID := pub.joinTimes()
	s := &Survivors{pub: pub, sub: sub}
	rep := &SurviveReport{}
	for i := range cfg.Trials {
		tr := runTrial(ctx, cfg, s, pubID, i)
		rep.Trials = append(rep.Trials, tr)
		fmt.Fprintf(progress, "trial %d: video gap %.0f ms (%.0f ms not the publisher's own pause), audio gap %.0f ms, publisher on %s, %s\n",
			i+1, tr.VideoGapMs, tr.VideoNetGapMs, tr.AudioGapMs, tr.PubNode, describe(tr))
		if cfg.Restore != nil {
			if err := cfg.Restore(ctx, i, s); err != nil {
				return rep.summarize(), fmt.Errorf("loadtest: restoring after trial %d: %w", i+1, err)
			}
		}
		if ctx.Err() != nil {
			break
		}
	}
	return rep.summarize(), nil
}

func surviveClients(ctx context.Context, cfg SurviveConfig) (pub, sub *client, err error) {
	pubAPI, err := newAPI(true, true, "", cfg.Logger)
	if err != nil {
		return nil, nil, err
	}
	subAPI, err := newAPI(false, true, "", cfg.Logger)
	if err != nil {
		return nil, nil, err
	}
	params := func(base, identity string, publish bool, api *webrtc.API) clientParams {
		token := cfg.Token
		var tokenAt func(context.Context, string, string, bool) (string, error)
		if token == nil {
			token, tokenAt = DevTokens(base, cfg.Room), devTokenAt(cfg.Room)
		}
		return clientParams{base: base, mode: "meeting", identity: identity, publish: publish, token: token,
			tokenAt: tokenAt, api: api, pubAPI: pubAPI, media: cfg.Media, logger: cfg.Logger}
	}
	pub = newClient(ctx, params(cfg.URL, "survive-pub", true, pubAPI))
	if err := pub.join(20 * time.Second); err != nil {
		pub.close()
		return nil, nil, fmt.Errorf("loadtest: publisher: %w", err)
	}
	sub = newClient(ctx, params(cfg.SubscriberURL, "survive-sub", false, subAPI))
	if err := sub.join(20 * time.Second); err != nil {
		pub.close()
		sub.close()
		return nil, nil, fmt.Errorf("loadtest: subscriber: %w", err)
	}
	return pub, sub, nil
}

// runTrial waits for media, disrupts, waits for recovery and measures.
func runTrial(ctx context.Context, cfg SurviveConfig, s *Survivors, pubID string, i int) TrialReport {
	video, audio := pubID+"/video", pubID+"/audio"
	tr := TrialReport{Trial: i + 1}
	if !waitFlowing(ctx, s.sub, video, cfg.Settle, cfg.Recover+cfg.Settle) {
		tr.Error = "media never flowed before the disruption"
		return tr
	}
	tr.PubNode = s.PublisherNode()
	t0 := time.Now()
	if err := cfg.Disrupt(ctx, i, s); err != nil {
		tr.Error = err.Error()
		return tr
	}
	// Recovered: both clients idle, something was recovered (or the
	// disruption did not need it), and a second of media since.
	deadline := t0.Add(cfg.Recover)
	for time.Now().Before(deadline) && ctx.Err() == nil {
		busy := s.pub.recovering() || s.sub.recovering()
		last := s.sub.gaps.lastFrame(video)
		if !busy && last.After(t0) && waitFlowing(ctx, s.sub, video, time.Second, 2*time.Second) {
			tr.Recovered = true
			break
		}
		_ = sleep(ctx, 100*time.Millisecond)
	}
	end := time.Now()
	tr.Start = t0
	for _, g := range s.sub.gaps.list(minGap) {
		if g.At.Add(time.Duration(g.Ms*float64(time.Millisecond))).After(t0.Add(-time.Second)) && g.At.Before(end) {
			tr.Gaps = append(tr.Gaps, g)
		}
	}
	tr.Events = append(s.pub.events.between(t0.Add(-time.Second), end), s.sub.events.between(t0.Add(-time.Second), end)...)
	sort.Slice(tr.Events, func(a, b int) bool { return tr.Events[a].At.Before(tr.Events[b].At) })
	tr.VideoGapMs = ms(s.sub.gaps.longest(video, t0.Add(-time.Second), end))
	tr.AudioGapMs = ms(s.sub.gaps.longest(audio, t0.Add(-time.Second), end))
	tr.VideoNetGapMs = ms(s.sub.gaps.longestNet(video, t0.Add(-time.Second), end))
	tr.AudioNetGapMs = ms(s.sub.gaps.longestNet(audio, t0.Add(-time.Second), end))
	all := append(s.pub.reconnectGaps(end), s.sub.reconnectGaps(end)...)
	sort.Slice(all, func(a, b int) bool { return all[a].At.Before(all[b].At) })
	for _, r := range all {
		if !r.At.Before(t0) {
			tr.Reconnects = append(tr.Reconnects, r)
		}
	}
	return tr
}

// waitFlowing waits (at most within) until key's frames have kept coming
// for d: no gap of minGap or more in the last d.
func waitFlowing(ctx context.Context, c *client, key string, d, within time.Duration) bool {
	deadline := time.Now().Add(within)
	for time.Now().Before(deadline) && ctx.Err() == nil {
		now := time.Now()
		last := c.gaps.lastFrame(key)
		if !last.IsZero() && now.Sub(last) < minGap && c.gaps.longest(key, now.Add(-d), now) == 0 && c.since(key, now.Add(-d)) {
			return true
		}
		_ = sleep(ctx, 50*time.Millisecond)
	}
	return false
}

// since: key had a frame before t (so a quiet start is not taken for flow).
func (c *client) since(key string, t time.Time) bool {
	return c.gaps.first(key).Before(t)
}

func (c *client) recovering() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.rec.busy || c.rec.iceTries > 0
}

func describe(tr TrialReport) string {
	if tr.Error != "" {
		return "error: " + tr.Error
	}
	if !tr.Recovered {
		return "media did NOT come back"
	}
	if len(tr.Reconnects) == 0 {
		return "no reconnect needed"
	}
	out := ""
	for i, r := range tr.Reconnects {
		if i > 0 {
			out += ", "
		}
		out += fmt.Sprintf("%s→%s in %.0f ms", r.Kind, r.Node, ms(r.Done.Sub(r.At)))
	}
	return out
}

func (r *SurviveReport) summarize() *SurviveReport {
	var v, a, vn, an []float64
	for _, t := range r.Trials {
		if !t.Recovered {
			r.Failed++
			continue
		}
		v, a = append(v, t.VideoGapMs), append(a, t.AudioGapMs)
		vn, an = append(vn, t.VideoNetGapMs), append(an, t.AudioNetGapMs)
		if t.VideoGapMs > 0 {
			r.VideoGaps++
		}
		if t.VideoNetGapMs > 0 {
			r.VideoNetGaps++
		}
		moved := false
		for _, g := range t.Gaps {
			if g.Cause == causeMove {
				moved = true
				r.MoveGapMax = max(r.MoveGapMax, g.Ms)
			}
		}
		if moved {
			r.MoveGaps++
		}
	}
	r.VideoGapP50, r.VideoGapP95 = percentile(v, .5), percentile(v, .95)
	r.AudioGapP50, r.AudioGapP95 = percentile(a, .5), percentile(a, .95)
	r.VideoNetGapP50, r.VideoNetGapP95 = percentile(vn, .5), percentile(vn, .95)
	r.AudioNetGapP95 = percentile(an, .95)
	for i := range v {
		r.VideoGapMax = max(r.VideoGapMax, v[i])
		r.VideoNetGapMax = max(r.VideoNetGapMax, vn[i])
	}
	return r
}

// WriteText prints the report for people.
func (r *SurviveReport) WriteText(w io.Writer) {
	fmt.Fprintf(w, "%d trials, %d without recovery\n", len(r.Trials), r.Failed)
	fmt.Fprintf(w, "media gap at the subscriber: video p50 %.0f ms, p95 %.0f ms, max %.0f ms; audio p50 %.0f ms, p95 %.0f ms\n",
		r.VideoGapP50, r.VideoGapP95, r.VideoGapMax, r.AudioGapP50, r.AudioGapP95)
	fmt.Fprintf(w, "trials with a video gap: %d; not the publisher's own pause: %d (video p50 %.0f ms, p95 %.0f ms, max %.0f ms; audio p95 %.0f ms)\n",
		r.VideoGaps, r.VideoNetGaps, r.VideoNetGapP50, r.VideoNetGapP95, r.VideoNetGapMax, r.AudioNetGapP95)
	fmt.Fprintf(w, "trials with a gap a move left (old tracks stopped before the new ones delivered): %d (max %.0f ms)\n",
		r.MoveGaps, r.MoveGapMax)
}
