package bench

import (
	"fmt"
	"time"
)

// Kind names a scenario family.
type Kind string

// The scenario families.
const (
	// KindBulk: one reliable stream as fast as the controller allows;
	// goodput over link rate.
	KindBulk Kind = "bulk"
	// KindMedia: 1500 kbit/s at 25 fps as deadline messages; frame latency,
	// frames within 400 ms, stalls.
	KindMedia Kind = "media"
	// KindQueue: a bulk flow at 0% loss; queueing delay the trunk adds.
	KindQueue Kind = "queue"
	// KindProbeRTT: a bulk flow long enough for a ProbeRTT; what it costs.
	KindProbeRTT Kind = "probertt"
	// KindFairness: two flows of the same controller share the bottleneck.
	KindFairness Kind = "fairness"
	// KindVsCubic: the controller against a CUBIC flow on a 1-BDP buffer.
	KindVsCubic Kind = "vscubic"
)

// Placements of the loss model relative to the bottleneck.
const (
	PlacementBefore = "before"
	PlacementAfter  = "after"
)

// Scenario is one simulation to run. Durations are in milliseconds so the
// JSON stays plain.
type Scenario struct {
	Kind      Kind    `json:"kind"`
	CC        string  `json:"cc"`
	RTTms     int     `json:"rtt_ms"`
	Loss      float64 `json:"loss"`
	Placement string  `json:"placement"`
	RateMbit  float64 `json:"rate_mbit"`
	// QueueBDP is the bottleneck queue in bandwidth-delay products.
	QueueBDP float64 `json:"queue_bdp"`
	// WarmupMs is run before measuring; MeasureMs is measured.
	WarmupMs  int    `json:"warmup_ms"`
	MeasureMs int    `json:"measure_ms"`
	Seed      uint64 `json:"seed"`
	// Competitor is the second flow's controller (fairness, vscubic), and
	// CompetitorStartMs when it starts.
	Competitor        string `json:"competitor,omitempty"`
	CompetitorStartMs int    `json:"competitor_start_ms,omitempty"`
}

// Name is a short unique label, as progress lines and tables show it.
func (s *Scenario) Name() string {
	n := fmt.Sprintf("%s %s rtt=%dms", s.Kind, s.CC, s.RTTms)
	if s.Kind == KindBulk || s.Kind == KindMedia {
		n += fmt.Sprintf(" loss=%g%% %s", 100*s.Loss, s.Placement)
	}
	if s.Competitor != "" {
		n += " vs " + s.Competitor
		if s.CompetitorStartMs > 1 {
			n += fmt.Sprintf(" (+%dms)", s.CompetitorStartMs)
		}
	}
	return n
}

func (s *Scenario) warmup() time.Duration  { return time.Duration(s.WarmupMs) * time.Millisecond }
func (s *Scenario) measure() time.Duration { return time.Duration(s.MeasureMs) * time.Millisecond }

// Result is what one scenario measured. Fields that do not apply to its
// kind are zero and omitted from JSON.
type Result struct {
	Scenario
	// GoodputMbit is unique payload acknowledged per second over the
	// measurement window; Utilization divides it by the link rate.
	GoodputMbit float64 `json:"goodput_mbit"`
	Utilization float64 `json:"utilization"`
	// SentMbit counts every datagram byte sent, retransmissions included.
	SentMbit        float64 `json:"sent_mbit"`
	RetransmitRatio float64 `json:"retransmit_ratio"`
	MinRTTms        float64 `json:"min_rtt_ms"`
	SmoothedRTTms   float64 `json:"srtt_ms"`
	// QueueP50ms and QueueP95ms are the bottleneck's queueing delay over
	// the measurement window; QueueP50Ratio divides the median by the base
	// RTT.
	QueueP50ms    float64 `json:"queue_p50_ms"`
	QueueP95ms    float64 `json:"queue_p95_ms"`
	QueueP50Ratio float64 `json:"queue_p50_ratio"`
	// NoiseLoss and CongestedLoss are the controller's own split of the
	// loss it saw (qbbr classifies; the others call all loss congestion).
	NoiseLoss     float64 `json:"noise_loss"`
	CongestedLoss float64 `json:"congested_loss"`
	// WholeRun5s and WholeRun16s are the utilization of a transfer that
	// lasts 5 or 16 s from the connect call, start-up included: unique
	// payload acknowledged by then over the link rate (bulk runs long
	// enough to reach the mark; 0 otherwise).
	WholeRun5s  float64 `json:"whole_run_5s,omitempty"`
	WholeRun16s float64 `json:"whole_run_16s,omitempty"`

	Media    *MediaResult    `json:"media,omitempty"`
	Flows    []FlowResult    `json:"flows,omitempty"`
	Jain     float64         `json:"jain,omitempty"`
	ProbeRTT *ProbeRTTResult `json:"probe_rtt,omitempty"`

	// WallSeconds is how long the simulation took to run on this machine;
	// it is left out of the JSON, which depends only on the scenarios.
	WallSeconds float64 `json:"-"`
	Error       string  `json:"error,omitempty"`
}

// MediaResult is the media stream's view: every frame is a message with a
// deadline, its latency measured from send to complete arrival.
type MediaResult struct {
	FramesSent      int `json:"frames_sent"`
	FramesDelivered int `json:"frames_delivered"`
	// Latency percentiles are over all frames sent, a frame that never
	// arrived counting as infinitely late: −1 means more than that share
	// of frames never arrived.
	LatencyP50ms float64 `json:"latency_p50_ms"`
	LatencyP95ms float64 `json:"latency_p95_ms"`
	LatencyP99ms float64 `json:"latency_p99_ms"`
	// Within400 is the share of sent frames that arrived complete within
	// 400 ms.
	Within400 float64 `json:"within_400ms"`
	// Stalls600 counts gaps of 600 ms or more without a new complete frame.
	Stalls600 int `json:"stalls_600ms"`
	// FECOverhead is FEC repair bytes over all bytes sent.
	FECOverhead float64 `json:"fec_overhead"`
}

// FlowResult is one of several competing flows.
type FlowResult struct {
	CC          string  `json:"cc"`
	GoodputMbit float64 `json:"goodput_mbit"`
	Share       float64 `json:"share"`
}

// ProbeRTTResult describes the ProbeRTTs seen during the run.
type ProbeRTTResult struct {
	Count int `json:"count"`
	// MeanDurationMs is how long a ProbeRTT state lasted, on average.
	MeanDurationMs float64 `json:"mean_duration_ms"`
	// LostLinkMs is the link time one ProbeRTT cost, on average: the bytes
	// not delivered, relative to the rate before it, from its start until
	// two RTTs after its end, divided by the link rate.
	LostLinkMs float64 `json:"lost_link_ms"`
	// MinThroughput is the lowest delivery rate over any one-RTT window
	// during a ProbeRTT, as a fraction of the link.
	MinThroughput float64 `json:"min_throughput"`
}

// jain is Jain's fairness index of xs: 1 when all are equal, 1/n when one
// takes everything.
func jain(xs []float64) float64 {
	var sum, sq float64
	for _, x := range xs {
		sum += x
		sq += x * x
	}
	if sq == 0 {
		return 0
	}
	return sum * sum / (float64(len(xs)) * sq)
}
