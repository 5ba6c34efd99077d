package netsim

import (
	"fmt"
	"math/rand/v2"
)

// LossKind selects a loss model.
type LossKind uint8

// The loss models a link can apply.
const (
	// LossNone loses nothing.
	LossNone LossKind = iota
	// LossBernoulli loses each packet independently with probability Rate.
	LossBernoulli
	// LossGilbertElliott is a two-state Markov chain (see GilbertElliott).
	LossGilbertElliott
)

// String names the kind as the relay's --loss-model flag spells it.
func (k LossKind) String() string {
	switch k {
	case LossNone:
		return "none"
	case LossBernoulli:
		return "bernoulli"
	case LossGilbertElliott:
		return "ge"
	}
	return fmt.Sprintf("LossKind(%d)", uint8(k))
}

// LossModel describes how a link loses packets. The zero value loses nothing.
type LossModel struct {
	Kind LossKind `yaml:"kind"`
	// Rate is the Bernoulli loss probability, in [0, 1].
	Rate float64 `yaml:"rate"`
	// GE holds the Gilbert-Elliott parameters when Kind is LossGilbertElliott.
	GE GilbertElliott `yaml:"ge"`
}

// Bernoulli returns a model that loses each packet independently with
// probability p.
func Bernoulli(p float64) LossModel {
	return LossModel{Kind: LossBernoulli, Rate: p}
}

// GE returns a Gilbert-Elliott model with explicit parameters.
func GE(g GilbertElliott) LossModel {
	return LossModel{Kind: LossGilbertElliott, GE: g}
}

// Burst returns the simple Gilbert model (nothing lost in the good state,
// everything lost in the bad state) whose stationary loss is meanLoss and
// whose loss runs average meanBurst packets. See GilbertElliott for the
// derivation. It returns an error when no such chain exists: meanBurst must
// be at least 1 and p = meanLoss/(meanBurst·(1−meanLoss)) at most 1.
func Burst(meanLoss, meanBurst float64) (LossModel, error) {
	if meanLoss <= 0 {
		return LossModel{}, nil
	}
	if meanLoss >= 1 || meanBurst < 1 {
		return LossModel{}, fmt.Errorf("netsim: burst loss %.3g with mean burst %.3g: need 0 ≤ loss < 1 and burst ≥ 1", meanLoss, meanBurst)
	}
	r := 1 / meanBurst
	p := meanLoss * r / (1 - meanLoss)
	if p > 1 {
		return LossModel{}, fmt.Errorf("netsim: loss %.3g cannot have bursts as short as %.3g (min %.3g)", meanLoss, meanBurst, meanLoss/(1-meanLoss))
	}
	return GE(GilbertElliott{P: p, R: r, LossGood: 0, LossBad: 1}), nil
}

// GilbertElliott is the two-state burst-loss chain used by netem's
// "loss gemodel p r 1-h 1-k", with the probabilities written directly.
//
// Per packet the chain first moves (good→bad with probability P, bad→good
// with probability R), then the packet is lost with probability LossGood or
// LossBad according to the new state. The stationary share of the bad state
// is πB = P/(P+R), so the mean loss is
//
//	L = (1−πB)·LossGood + πB·LossBad.
//
// A bad-state sojourn lasts a geometric number of packets with mean 1/R. In
// the simple Gilbert model (LossGood = 0, LossBad = 1) every loss run is
// exactly one bad sojourn, so for a target mean loss L and mean burst length
// B set R = 1/B and P = L·R/(1−L) (Burst does this). For reference,
// independent loss at rate L has mean burst 1/(1−L), so B below that is
// anti-bursty and B above it is bursty.
type GilbertElliott struct {
	P        float64 `yaml:"p"`         // P(good → bad) per packet
	R        float64 `yaml:"r"`         // P(bad → good) per packet
	LossGood float64 `yaml:"loss_good"` // loss probability in the good state (netem's 1−k)
	LossBad  float64 `yaml:"loss_bad"`  // loss probability in the bad state (netem's 1−h)
}

// MeanLoss is the stationary loss probability of the chain.
func (g GilbertElliott) MeanLoss() float64 {
	if g.P+g.R == 0 {
		return g.LossGood
	}
	bad := g.P / (g.P + g.R)
	return (1-bad)*g.LossGood + bad*g.LossBad
}

// MeanLoss is the long-run loss probability of the model.
func (m LossModel) MeanLoss() float64 {
	switch m.Kind {
	case LossBernoulli:
		return m.Rate
	case LossGilbertElliott:
		return m.GE.MeanLoss()
	}
	return 0
}

// lossState is a LossModel plus the chain's current state.
type lossState struct {
	model LossModel
	bad   bool
}

// lose advances the model by one packet and reports whether it is lost.
func (s *lossState) lose(rng *rand.Rand) bool {
	switch s.model.Kind {
	case LossBernoulli:
		return s.model.Rate > 0 && rng.Float64() < s.model.Rate
	case LossGilbertElliott:
		g := &s.model.GE
		if s.bad {
			if rng.Float64() < g.R {
				s.bad = false
			}
		} else if rng.Float64() < g.P {
			s.bad = true
		}
		p := g.LossGood
		if s.bad {
			p = g.LossBad
		}
		return p > 0 && rng.Float64() < p
	}
	return false
}
