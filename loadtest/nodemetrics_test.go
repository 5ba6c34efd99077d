package loadtest

import (
	"bufio"
	"strings"
	"testing"
)

func TestParseNodeCounters(t *testing.T) {
	text := `# HELP qrtn_forwarded_packets_total RTP packets forwarded to subscribers.
# TYPE qrtn_forwarded_packets_total counter
qrtn_forwarded_packets_total 263232
qrtn_forwarded_bytes_total 3.1e+08
qrtn_retransmits_total 1.5e+06
qrtn_nacks_total 17
go_goroutines 42
`
	c, err := parseNodeCounters(bufio.NewScanner(strings.NewReader(text)))
	if err != nil {
		t.Fatal(err)
	}
	if !c.ok || c.forwarded != 263232 || c.retransmits != 1_500_000 || c.nacks != 17 {
		t.Fatalf("got %+v", c)
	}
	c, err = parseNodeCounters(bufio.NewScanner(strings.NewReader("go_goroutines 3\n")))
	if err != nil || c.ok {
		t.Fatalf("a node without the forwarding counter: %+v, %v", c, err)
	}
	if _, err := parseNodeCounters(bufio.NewScanner(strings.NewReader("qrtn_nacks_total x\n"))); err == nil {
		t.Fatal("a bad value was accepted")
	}
}
