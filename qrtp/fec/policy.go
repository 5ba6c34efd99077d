package fec

import (
	"math"
	"time"
)

// PolicyConfig holds the knobs of the redundancy policy; profiles set them.
type PolicyConfig struct {
	// Target is the acceptable probability that a group (a message) is not
	// complete by its deadline; 0 means 0.005.
	Target float64 `yaml:"target"`
	// CleanLoss: below this measured loss no FEC is sent; 0 means 0.002.
	CleanLoss float64 `yaml:"clean_loss"`
	// Budget is the most repair bytes per source byte (M/K); 0 disables FEC.
	// The "meeting" profile uses 0.5.
	Budget float64 `yaml:"budget"`
	// MaxK bounds the group size; 0 means 32.
	MaxK int `yaml:"max_k"`
	// MaxShards bounds K+M; 0 means 64 (must not exceed the decoder's).
	MaxShards int `yaml:"max_shards"`
	// MaxInterleave bounds the interleaving depth tried; 0 means 4, 1 off.
	MaxInterleave int `yaml:"max_interleave"`
	// Margin is the slack added to every delivery-time estimate (ACK delay,
	// loss-detection threshold, jitter); 0 means 20ms.
	Margin time.Duration `yaml:"margin"`
	// MaxGroupDelay caps how long a group stays open; 0 means 40ms (a frame interval at 25 fps). The
	// core should also flush at the end of each message.
	MaxGroupDelay time.Duration `yaml:"max_group_delay"`
	// MessagePackets is the typical message size in packets, used to judge
	// whether retransmission alone is enough when Conditions do not say;
	// 0 means 8.
	MessagePackets int `yaml:"message_packets"`
}

func (c PolicyConfig) withDefaults() PolicyConfig {
	def := func(v *float64, d float64) {
		if *v <= 0 {
			*v = d
		}
	}
	def(&c.Target, 0.005)
	def(&c.CleanLoss, 0.002)
	if c.MaxK <= 0 {
		c.MaxK = 32
	}
	if c.MaxShards <= 0 {
		c.MaxShards = 64
	}
	c.MaxShards = min(c.MaxShards, MaxShards)
	c.MaxK = min(c.MaxK, c.MaxShards-1)
	if c.MaxInterleave <= 0 {
		c.MaxInterleave = 4
	}
	if c.Margin <= 0 {
		c.Margin = 20 * time.Millisecond
	}
	if c.MaxGroupDelay <= 0 {
		c.MaxGroupDelay = 40 * time.Millisecond
	}
	if c.MessagePackets <= 0 {
		c.MessagePackets = 8
	}
	return c
}

// Conditions are what the connection measured, and what the stream needs.
type Conditions struct {
	// Loss is the measured packet loss rate (Estimator.Loss).
	Loss float64
	// MeanBurst is the mean length of loss runs in packets
	// (Estimator.MeanBurst); 0 means unknown (taken as independent loss).
	MeanBurst float64
	// RTT is the smoothed round-trip time.
	RTT time.Duration
	// Deadline is how long after sending a message must arrive; 0 means the
	// stream has none (it relies on retransmission: no FEC).
	Deadline time.Duration
	// PacketRate is the rate of protected packets per second, 0 if unknown;
	// it bounds the group size to what fills within the group delay.
	PacketRate float64
	// MessagePackets is the mean number of protected packets per message
	// when the caller flushes the encoder at the end of every message (0:
	// unknown). The policy then takes groups at least that large (per
	// interleaving lane): a message split into a full group and a short
	// remainder pays for two groups' repairs, so the smaller group that
	// looks cheaper per packet costs more per message.
	MessagePackets float64
}

// Policy chooses FEC parameters from measured conditions. It keeps scratch
// space, so it is not safe for concurrent use. Choose costs about 0.1–0.2 ms
// (more with large budgets) and is meant to run when the estimate moved, at
// most about once per RTT, never per packet.
type Policy struct {
	cfg PolicyConfig
	dp  groupDP
}

// NewPolicy returns a policy with cfg's defaults filled in.
func NewPolicy(cfg PolicyConfig) *Policy { return &Policy{cfg: cfg.withDefaults()} }

// Config returns the configuration in force.
func (p *Policy) Config() PolicyConfig { return p.cfg }

// Rounds is the number of retransmission rounds that fit in the deadline:
// the first needs 1.5 RTT + margin (one-way, loss detection after about an
// RTT, resend), each further one RTT + margin.
func Rounds(deadline, rtt, margin time.Duration) int {
	first := rtt + rtt/2 + margin
	if deadline < first {
		return 0
	}
	return 1 + int((deadline-first)/(rtt+margin))
}

// retransmitFailure is the chance that R rounds of retransmission fail to
// repair what FEC left missing, taking two missing packets (the common
// case just past the correction capacity), each lost again with the mean
// loss: retransmissions come an RTT later, past a typical burst.
func retransmitFailure(loss float64, rounds int) float64 {
	if rounds == 0 {
		return 1
	}
	return 1 - math.Pow(1-math.Pow(loss, float64(rounds)), 2)
}

// Choose returns the parameters for the conditions: no FEC on clean links,
// streams without deadline, or deadlines too short for anything to arrive;
// otherwise the least overhead that brings the group failure probability
// (after the retransmission rounds the deadline allows) under Target within
// Budget, or failing that the most protection Budget buys.
func (p *Policy) Choose(c Conditions) Params {
	cfg := p.cfg
	if c.Loss < cfg.CleanLoss || c.Deadline <= 0 || cfg.Budget <= 0 {
		return Params{}
	}
	groupTime := min(c.Deadline-c.RTT/2-cfg.Margin, cfg.MaxGroupDelay)
	if groupTime <= 0 {
		return Params{} // nothing can arrive in time, FEC or not
	}
	rounds := Rounds(c.Deadline, c.RTT, cfg.Margin)
	// Without FEC a message fails if a packet is lost in every round.
	msgPackets := float64(cfg.MessagePackets)
	if c.MessagePackets > 0 {
		msgPackets = math.Ceil(c.MessagePackets)
	}
	if 1-math.Pow(1-math.Pow(c.Loss, float64(rounds+1)), msgPackets) <= cfg.Target {
		return Params{}
	}
	allowed := cfg.Target / retransmitFailure(c.Loss, rounds)
	ch := gilbert(c.Loss, c.MeanBurst)

	best, bestEffort := Params{}, Params{}
	bestOver, bestFail := math.Inf(1), math.Inf(1)
	// Interleaving stretches a group over K·d packets; without a packet
	// rate there is no telling whether that fits the group delay.
	maxD := 1
	if c.PacketRate > 0 {
		maxD = cfg.MaxInterleave
	}
	for d := 1; d <= maxD; d *= 2 {
		maxK := cfg.MaxK
		if c.PacketRate > 0 {
			maxK = min(maxK, max(1, int(c.PacketRate*groupTime.Seconds())/d))
		}
		minK := 1
		if c.MessagePackets > 0 {
			// A message is queued whole, so its packets fill a group as
			// fast as they are paced, whatever the mean packet rate.
			minK = min(cfg.MaxK, int(math.Ceil(c.MessagePackets/float64(d))))
			maxK = max(maxK, minK)
		}
		if d > 1 && maxK < 2 {
			break
		}
		maxM := min(cfg.MaxShards-1, int(cfg.Budget*float64(maxK)))
		if maxM < 1 {
			continue
		}
		p.dp.start(ch, d, maxM)
		for k := 1; k <= maxK; k++ {
			p.dp.addSource()
			if k < minK {
				continue
			}
			mBudget := min(int(cfg.Budget*float64(k)), cfg.MaxShards-k, maxM)
			if mBudget < 1 {
				continue
			}
			m, f := p.dp.minRepairs(allowed, mBudget)
			if f > allowed {
				// Over budget: remember the choice that fails least.
				if f < bestFail*0.999 {
					bestFail, bestEffort = f, Params{K: k, M: m, Interleave: d, Residual: f}
				}
				continue
			}
			// Prefer smaller groups (less latency) unless a larger one
			// saves more than 10% of the overhead.
			if over := float64(m) / float64(k); over < bestOver*0.9-0.01 {
				bestOver, best = over, Params{K: k, M: m, Interleave: d, Residual: f}
			}
		}
	}
	chosen := best
	if !chosen.Enabled() {
		chosen = bestEffort
	}
	if !chosen.Enabled() {
		return Params{}
	}
	chosen.MaxDelay = groupTime
	chosen.Short = p.shortTable(ch, chosen, allowed)
	return chosen
}

// shortTable gives each early-flushed group size k' < K the fewest repairs
// (at most M) that meet allowed, computed without interleaving since a
// flushed group's sources may be adjacent.
func (p *Policy) shortTable(ch chain, chosen Params, allowed float64) []int {
	if chosen.K <= 1 {
		return nil
	}
	p.dp.start(ch, 1, chosen.M)
	short := make([]int, chosen.K)
	for k := 1; k < chosen.K; k++ {
		p.dp.addSource()
		short[k], _ = p.dp.minRepairs(allowed, chosen.M)
	}
	return short
}
