package fec

import "math"

// chain is the simple Gilbert loss model: in state bad every packet is lost,
// in state good none is. q = P(good→bad), r = P(bad→good) per packet.
type chain struct{ q, r float64 }

// gilbert fits the chain to a mean loss and a mean loss-run length (r =
// 1/burst, q = loss·r/(1−loss)). A burst of 1/(1−loss) is independent loss;
// an unknown burst (< 1) is taken as that. Runs too short for the loss
// (q > 1) are clamped to the chain's limit, q = 1.
func gilbert(loss, meanBurst float64) chain {
	loss = min(max(loss, 0), 0.999)
	if meanBurst < 1 {
		meanBurst = 1 / (1 - loss) // unknown: independent loss
	}
	r := 1 / meanBurst
	q := loss * r / (1 - loss)
	if q > 1 { // runs shorter than the loss allows: clamp to alternation
		q = 1
		r = (1 - loss) / loss
	}
	return chain{q: q, r: r}
}

// bad is the stationary probability of the bad state.
func (c chain) bad() float64 {
	if c.q+c.r == 0 {
		return 0
	}
	return c.q / (c.q + c.r)
}

// step returns P(bad at t+d | good at t) and P(bad at t+d | bad at t): the
// d-step transition, in closed form because the 2×2 matrix has eigenvalues
// 1 and λ = 1−q−r.
func (c chain) step(d int) (fromGood, fromBad float64) {
	pi := c.bad()
	ld := math.Pow(1-c.q-c.r, float64(d))
	return pi - ld*pi, pi + ld*(1-pi)
}

// lossDist holds P(state, losses) for a run of packets, losses truncated at
// len−1 (the last bucket collects "that many or more").
type lossDist struct{ good, bad []float64 }

func (l *lossDist) reset(cap int, pBad float64) {
	l.good = resize(l.good, cap)
	l.bad = resize(l.bad, cap)
	// The first packet: the chain is in its stationary state.
	l.good[0] = 1 - pBad
	if cap > 1 {
		l.bad[1] = pBad
	} else {
		l.bad[0] = pBad
	}
}

func resize(s []float64, n int) []float64 {
	if cap(s) < n {
		return make([]float64, n)
	}
	s = s[:n]
	clear(s)
	return s
}

// advance adds one packet d steps of the chain after the previous one.
func (l *lossDist) advance(fromGood, fromBad float64, tmpG, tmpB []float64) {
	n := len(l.good)
	clear(tmpG)
	clear(tmpB)
	for j := range n {
		g, b := l.good[j], l.bad[j]
		if g == 0 && b == 0 {
			continue
		}
		toBad := g*fromGood + b*fromBad
		tmpG[j] += g + b - toBad
		tmpB[min(j+1, n-1)] += toBad
	}
	copy(l.good, tmpG)
	copy(l.bad, tmpB)
}

// tail is P(losses > m).
func (l *lossDist) tail(m int) float64 {
	var s float64
	for j := m + 1; j < len(l.good); j++ {
		s += l.good[j] + l.bad[j]
	}
	return min(s, 1)
}

// failTable computes, for one chain and interleaving depth d, the
// probability that a group of k sources (spaced d packets apart) followed
// by m repairs (sent back to back when the group seals) loses more than m
// of its k+m symbols, for every k ≤ maxK and m ≤ maxM. It is the DP of the
// package documentation; fail[k][m] for k ≥ 1.
type failTable struct {
	maxM int
	fail []float64 // (maxK+1) × (maxM+1)
	src  lossDist
	rep  lossDist
	tmpG []float64
	tmpB []float64
}

func (f *failTable) at(k, m int) float64 { return f.fail[k*(f.maxM+1)+m] }

func (f *failTable) compute(c chain, d, maxK, maxM int) {
	f.maxM = maxM
	f.fail = resize(f.fail, (maxK+1)*(maxM+1))
	buckets := maxM + 2 // 0..maxM+1 losses, the last meaning "more than maxM"
	f.tmpG = resize(f.tmpG, buckets)
	f.tmpB = resize(f.tmpB, buckets)
	sg, sb := c.step(d)
	rg, rb := c.step(1)
	f.src.reset(buckets, c.bad())
	for k := 1; k <= maxK; k++ {
		if k > 1 {
			f.src.advance(sg, sb, f.tmpG, f.tmpB)
		}
		// Repairs follow the group's last source.
		f.rep.good = append(f.rep.good[:0], f.src.good...)
		f.rep.bad = append(f.rep.bad[:0], f.src.bad...)
		for m := 1; m <= maxM; m++ {
			f.rep.advance(rg, rb, f.tmpG, f.tmpB)
			f.fail[k*(maxM+1)+m] = f.rep.tail(m)
		}
		f.fail[k*(maxM+1)] = f.src.tail(0)
	}
}
