package scheduler

import (
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
)

// Limits on what a request may carry.
const (
	maxRegion = 32
	maxRTTs   = 32
	maxRTTMs  = 10000
	maxName   = 128
)

// CheckRegion accepts a region name: 1..32 bytes of lower-case letters,
// digits, '-' and '_'.
func CheckRegion(r string) error {
	if r == "" || len(r) > maxRegion {
		return fmt.Errorf("%w: region %q: 1 to %d characters", ErrBadRequest, clip(r), maxRegion)
	}
	for _, ch := range r {
		if !(ch >= 'a' && ch <= 'z' || ch >= '0' && ch <= '9' || ch == '-' || ch == '_') {
			return fmt.Errorf("%w: region %q: only a-z, 0-9, '-' and '_'", ErrBadRequest, clip(r))
		}
	}
	return nil
}

// ParseRTTs parses probe results, "node:ms,node:ms" (ms may have a
// fraction), as the client sends them. Empty is no probes.
func ParseRTTs(s string) (map[string]float64, error) {
	out := map[string]float64{}
	if s == "" {
		return out, nil
	}
	parts := strings.Split(s, ",")
	if len(parts) > maxRTTs {
		return nil, fmt.Errorf("%w: rtt: more than %d probes", ErrBadRequest, maxRTTs)
	}
	for _, p := range parts {
		name, val, ok := strings.Cut(p, ":")
		if !ok || name == "" || len(name) > maxName {
			return nil, fmt.Errorf("%w: rtt: %q is not node:milliseconds", ErrBadRequest, clip(p))
		}
		ms, err := strconv.ParseFloat(val, 64)
		if err != nil || math.IsNaN(ms) || ms < 0 || ms > maxRTTMs {
			return nil, fmt.Errorf("%w: rtt: %q: milliseconds must be a number from 0 to %d", ErrBadRequest, clip(p), maxRTTMs)
		}
		if _, dup := out[name]; dup {
			return nil, fmt.Errorf("%w: rtt: node %q twice", ErrBadRequest, clip(name))
		}
		out[name] = ms
	}
	return out, nil
}

// FormatRTTs is the inverse of ParseRTTs (sorted by node name).
func FormatRTTs(m map[string]float64) string {
	names := make([]string, 0, len(m))
	for n := range m {
		names = append(names, n)
	}
	slices.Sort(names)
	var b strings.Builder
	for i, n := range names {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(n)
		b.WriteByte(':')
		b.WriteString(strconv.FormatFloat(m[n], 'f', -1, 64))
	}
	return b.String()
}

// ParsePolicy accepts "", auto, nearest and single.
func ParsePolicy(s string) (Policy, error) {
	switch p := Policy(s); p {
	case "":
		return Auto, nil
	case Auto, Nearest, Single:
		return p, nil
	}
	return "", fmt.Errorf("%w: unknown room policy %q (auto, nearest or single)", ErrBadRequest, clip(s))
}

// clip shortens what an error quotes back.
func clip(s string) string {
	if len(s) > 40 {
		return s[:40] + "…"
	}
	return s
}
