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

// groupDP evaluates groups under one chain: k sources spaced d packets
// apart, then m repairs sent back to back when the group seals (the DP of
// the package documentation). Sources are added one at a time, and for the
// current k minRepairs runs the repairs only as far as it needs to, so a
// policy search costs about Σ_k m_needed(k) steps rather than a full table.
type groupDP struct {
	sg, sb, rg, rb float64 // d-step and 1-step transitions
	pBad           float64
	k              int
	src, rep       lossDist
	tmpG, tmpB     []float64
}

// start resets to zero sources; maxM is the most repairs minRepairs will
// be asked to consider.
func (g *groupDP) start(c chain, d, maxM int) {
	g.sg, g.sb = c.step(d)
	g.rg, g.rb = c.step(1)
	g.pBad = c.bad()
	g.k = 0
	buckets := maxM + 2 // 0..maxM losses, then "more than maxM"
	g.src.good = resize(g.src.good, buckets)
	g.src.bad = resize(g.src.bad, buckets)
	g.tmpG = resize(g.tmpG, buckets)
	g.tmpB = resize(g.tmpB, buckets)
}

// addSource adds the next source symbol.
func (g *groupDP) addSource() {
	if g.k == 0 {
		g.src.reset(len(g.src.good), g.pBad)
	} else {
		g.src.advance(g.sg, g.sb, g.tmpG, g.tmpB)
	}
	g.k++
}

// minRepairs returns the fewest repairs m ≤ mMax for which the current
// group fails (loses more than m of its k+m symbols) with probability at
// most allowed, and that probability; if none does, mMax and its failure.
func (g *groupDP) minRepairs(allowed float64, mMax int) (int, float64) {
	g.rep.good = append(g.rep.good[:0], g.src.good...)
	g.rep.bad = append(g.rep.bad[:0], g.src.bad...)
	var f float64
	for m := 1; m <= mMax; m++ {
		g.rep.advance(g.rg, g.rb, g.tmpG, g.tmpB)
		if f = g.rep.tail(m); f <= allowed {
			return m, f
		}
	}
	return mMax, f
}

// groupFailure is P(more than m of k+m symbols lost) for sources d apart.
func groupFailure(c chain, d, k, m int) float64 {
	var g groupDP
	g.start(c, d, m)
	for range k {
		g.addSource()
	}
	_, f := g.minRepairs(-1, m)
	return f
}
