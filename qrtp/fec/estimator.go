package fec

// Estimator measures the loss process the policy needs: the loss rate and
// how bursty it is, as a simple Gilbert model fitted to recent packets. Feed
// it every packet's fate in send order as it becomes known (acknowledged or
// declared lost). Count a packet that FEC recovered as lost: the policy
// must size FEC for what the path loses, not for what reaches the
// application. Small misorderings only blur the burst estimate.
//
// Counts decay exponentially with a memory of Window packets, so the
// estimate follows a changing path; it costs a few multiplications per
// packet and no allocation. Not safe for concurrent use.
type Estimator struct {
	keep float64 // per-packet decay factor, 1 − 1/Window
	// trans[a][b]: decayed count of a packet with fate a followed by one
	// with fate b (0 received, 1 lost).
	trans   [2][2]float64
	fate    [2]float64 // decayed count of each fate
	last    int        // fate of the previous packet, −1 before the first
	samples uint64
}

// NewEstimator returns an estimator that remembers about window packets;
// window ≤ 0 means 1000.
func NewEstimator(window int) *Estimator {
	if window <= 0 {
		window = 1000
	}
	return &Estimator{keep: 1 - 1/float64(window), last: -1}
}

// Observe records the fate of the next packet.
func (e *Estimator) Observe(lost bool) {
	f := 0
	if lost {
		f = 1
	}
	e.fate[0] *= e.keep
	e.fate[1] *= e.keep
	e.fate[f]++
	if e.last >= 0 {
		for a := range e.trans {
			e.trans[a][0] *= e.keep
			e.trans[a][1] *= e.keep
		}
		e.trans[e.last][f]++
	}
	e.last = f
	e.samples++
}

// Samples is the number of packets observed.
func (e *Estimator) Samples() uint64 { return e.samples }

// Loss is the recent loss rate.
func (e *Estimator) Loss() float64 {
	total := e.fate[0] + e.fate[1]
	if total == 0 {
		return 0
	}
	return e.fate[1] / total
}

// GilbertElliott returns the fitted chain: p = P(lost | previous received),
// r = P(received | previous lost). Unobserved transitions give 0.
func (e *Estimator) GilbertElliott() (p, r float64) {
	if n := e.trans[0][0] + e.trans[0][1]; n > 0 {
		p = e.trans[0][1] / n
	}
	if n := e.trans[1][0] + e.trans[1][1]; n > 0 {
		r = e.trans[1][0] / n
	}
	return p, r
}

// MeanBurst is the mean length of loss runs, 1/r; 0 until a run has ended.
// Independent loss at rate L gives 1/(1−L).
func (e *Estimator) MeanBurst() float64 {
	_, r := e.GilbertElliott()
	if r == 0 {
		return 0
	}
	return 1 / r
}
