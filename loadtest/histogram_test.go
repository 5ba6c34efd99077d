package loadtest

import (
	"testing"
	"time"
)

func TestHistogramQuantiles(t *testing.T) {
	var h histogram
	if h.quantile(.5) != 0 {
		t.Fatal("empty histogram has a median")
	}
	for i := 1; i <= 100; i++ {
		h.add(time.Duration(i) * time.Millisecond)
	}
	for _, tc := range []struct {
		q    float64
		want time.Duration
	}{{.5, 50 * time.Millisecond}, {.95, 95 * time.Millisecond}, {.99, 99 * time.Millisecond}, {1, 100 * time.Millisecond}} {
		got := h.quantile(tc.q)
		// Buckets are 1 ms wide here; a quantile reads as the bucket's upper bound.
		if got < tc.want || got > tc.want+time.Millisecond {
			t.Errorf("q%.2f = %v, want %v", tc.q, got, tc.want)
		}
	}
	var o histogram
	o.add(20 * time.Second) // overflow reports the maximum seen
	h.merge(&o)
	if got := h.quantile(1); got != 20*time.Second {
		t.Errorf("max after merge = %v", got)
	}
	if h.n != 101 {
		t.Errorf("n = %d", h.n)
	}
}

func TestHistogramBucketsAreMonotonic(t *testing.T) {
	prev := -1
	for d := time.Duration(0); d < 11*time.Second; d += 97 * time.Microsecond {
		b := bucketOf(d)
		if b < prev {
			t.Fatalf("bucket of %v is %d < %d", d, b, prev)
		}
		if d < 10*time.Second && upperOf(b) < d {
			t.Fatalf("upper bound %v of bucket %d below %v", upperOf(b), b, d)
		}
		prev = b
	}
}
