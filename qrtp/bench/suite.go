package bench

import "time"

// Options choose which scenarios a run covers and how long each lasts.
type Options struct {
	CCs        []string  // controllers for bulk and media
	Losses     []float64 // fractions
	RTTs       []int     // ms
	Placements []string
	Kinds      []Kind
	RateMbit   float64
	QueueBDP   float64
	Seed       uint64
	// Scale multiplies every duration: 1 for the full sweep, less for
	// --quick.
	Scale float64
	// MediaLosses are the losses media runs at (nil: Losses).
	MediaLosses []float64
}

// FullOptions is the sweep docs/benchmarks.md is generated from.
func FullOptions() Options {
	return Options{
		CCs:        []string{"qbbr", "bbr1", "cubic"},
		Losses:     []float64{0, 0.01, 0.02, 0.05, 0.1, 0.2, 0.3, 0.4, 0.5},
		RTTs:       []int{20, 200},
		Placements: []string{PlacementBefore, PlacementAfter},
		Kinds:      []Kind{KindBulk, KindMedia, KindProbeRTT, KindFairness, KindVsCubic},
		RateMbit:   100,
		QueueBDP:   1,
		Seed:       1,
		Scale:      1,
	}
}

// QuickOptions is a subset that finishes in a couple of minutes on two
// cores: five loss levels, shorter runs, media at the long RTT only.
func QuickOptions() Options {
	o := FullOptions()
	o.Losses = []float64{0, 0.05, 0.2, 0.3, 0.5}
	o.MediaLosses = []float64{0, 0.2, 0.5}
	o.Scale = 0.4
	return o
}

// durations returns warmup and measurement for a kind at an RTT, before
// scaling: long enough for several gain cycles (8 RTTs each) and, for
// ProbeRTT, past BBR's 10-second min-RTT window.
func durations(k Kind, rttMs int) (warmup, measure time.Duration) {
	long := rttMs >= 100
	switch k {
	case KindMedia:
		return 2 * time.Second, 30 * time.Second
	case KindProbeRTT:
		// bbr1's first ProbeRTT comes 10 s after its last lower RTT
		// sample, which on a long path may be a second or two in.
		if long {
			return time.Second, 20 * time.Second
		}
		return time.Second, 14 * time.Second
	case KindFairness, KindVsCubic:
		if long {
			return 20 * time.Second, 20 * time.Second
		}
		return 5 * time.Second, 10 * time.Second
	default:
		// At least 16 s in all, for the whole-run figure of a 16 s
		// transfer.
		if long {
			return 6 * time.Second, 20 * time.Second
		}
		return 3 * time.Second, 13 * time.Second
	}
}

// Scenarios expands the options into the list to run.
func (o Options) Scenarios() []Scenario {
	var out []Scenario
	for _, k := range o.Kinds {
		for _, rtt := range o.RTTs {
			out = append(out, o.kindScenarios(k, rtt)...)
		}
	}
	return out
}

func (o Options) base(k Kind, cc string, rtt int) Scenario {
	w, m := durations(k, rtt)
	scale := o.Scale
	if scale <= 0 {
		scale = 1
	}
	// ProbeRTT runs must still reach BBR's 10-second window when scaled.
	if k == KindProbeRTT {
		scale = 1
	}
	return Scenario{
		Kind: k, CC: cc, RTTms: rtt, RateMbit: o.RateMbit, QueueBDP: o.QueueBDP, Seed: o.Seed,
		Placement: PlacementBefore,
		WarmupMs:  int(float64(w.Milliseconds()) * scale),
		MeasureMs: int(float64(m.Milliseconds()) * scale),
	}
}

func (o Options) kindScenarios(k Kind, rtt int) []Scenario {
	var out []Scenario
	switch k {
	case KindBulk, KindMedia:
		losses := o.Losses
		if k == KindMedia && o.MediaLosses != nil {
			losses = o.MediaLosses
			if o.Scale < 1 && rtt < 100 {
				return nil // the quick run keeps media to the long path
			}
		}
		for _, cc := range o.CCs {
			for _, loss := range losses {
				for _, pl := range o.Placements {
					s := o.base(k, cc, rtt)
					s.Loss, s.Placement = loss, pl
					out = append(out, s)
					if loss == 0 {
						break // placement means nothing without loss
					}
				}
			}
		}
	case KindProbeRTT:
		// bbr1 probes every 10 s as Linux does; qbbr is shown both forced
		// to probe on the same schedule (to price one ProbeRTT) and as it
		// runs by default (when it needs to probe at all).
		for _, cc := range []string{"bbr1", "qbbr:probertt=10s,strict", "qbbr"} {
			out = append(out, o.base(k, cc, rtt))
		}
	case KindFairness:
		// Both flows starting together (the Jain target), and a latecomer
		// joining one second in: in steady state on the short path, in the
		// middle of the first flow's Startup on the long one.
		for _, cc := range []string{"qbbr", "bbr1"} {
			for _, start := range []int{1, 1000} {
				s := o.base(k, cc, rtt)
				s.Competitor, s.CompetitorStartMs = cc, start
				out = append(out, s)
			}
		}
	case KindVsCubic:
		for _, cc := range []string{"qbbr", "bbr1"} {
			s := o.base(k, cc, rtt)
			// One endpoint pair cannot open two connections at the same
			// instant: the handshake's replay protection wants strictly
			// increasing timestamps per key.
			s.Competitor, s.CompetitorStartMs = "cubic", 1
			s.QueueBDP = 1
			out = append(out, s)
		}
	}
	return out
}
