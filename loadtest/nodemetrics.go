package loadtest

import (
	"bufio"
	"context"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// nodeCounters are the node's own forwarding counters, read from its
// public Prometheus endpoint (GET /metrics): what it sent, not what the
// synthetic subscribers managed to receive. When the load generator falls
// behind and its sockets overflow, the node answers the resulting NACKs
// with retransmissions: CPU per received packet then measures the
// generator's overload as much as the node, CPU per forwarded packet does
// not.
type nodeCounters struct {
	forwarded, retransmits, nacks uint64
	ok                            bool
}

// nodeMetricNames maps the counters read to their Prometheus names.
var nodeMetricNames = map[string]func(*nodeCounters) *uint64{
	"qrtn_forwarded_packets_total": func(c *nodeCounters) *uint64 { return &c.forwarded },
	"qrtn_retransmits_total":       func(c *nodeCounters) *uint64 { return &c.retransmits },
	"qrtn_nacks_total":             func(c *nodeCounters) *uint64 { return &c.nacks },
}

// readNodeCounters fetches base+"/metrics"; ok is false when the node has
// no such endpoint or it lacks the forwarding counter.
func readNodeCounters(ctx context.Context, base string) nodeCounters {
	ctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+"/metrics", nil)
	if err != nil {
		return nodeCounters{}
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nodeCounters{}
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nodeCounters{}
	}
	c, err := parseNodeCounters(bufio.NewScanner(resp.Body))
	if err != nil {
		return nodeCounters{}
	}
	return c
}

// parseNodeCounters reads the Prometheus text format, keeping the
// counters of nodeMetricNames.
func parseNodeCounters(sc *bufio.Scanner) (nodeCounters, error) {
	var c nodeCounters
	for sc.Scan() {
		line := sc.Text()
		if line == "" || line[0] == '#' {
			continue
		}
		name, value, found := strings.Cut(line, " ")
		field, known := nodeMetricNames[name]
		if !found || !known {
			continue
		}
		v, err := strconv.ParseFloat(strings.TrimSpace(value), 64)
		if err != nil || v < 0 {
			return nodeCounters{}, fmt.Errorf("loadtest: metric %s: bad value %q", name, value)
		}
		*field(&c) = uint64(v)
		c.ok = c.ok || name == "qrtn_forwarded_packets_total"
	}
	return c, sc.Err()
}
