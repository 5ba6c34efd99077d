package trunk

import (
	"runtime"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/qrtn/qrtn/qrtp/handshake"
	"github.com/qrtn/qrtn/trunk/route"
)

// TestSocketBuffersReported: the QRTP socket's buffer sizes, asked for and
// granted by the kernel, show in the status and the metrics.
func TestSocketBuffersReported(t *testing.T) {
	kp, _ := handshake.GenerateKeyPair(nil)
	tr, err := New(Config{Name: "x", Role: route.Forwarding, Listen: "127.0.0.1:0", Key: &kp}, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer tr.Close()
	b := tr.Status().Socket
	if b.ReadRequested != socketBuffer || b.WriteRequested != socketBuffer {
		t.Fatalf("requested %+v, want %d each way", b, socketBuffer)
	}
	if runtime.GOOS == "linux" {
		// Read back from the kernel: at least its default, at most the request
		// unless forced past the cap.
		for _, g := range []int{b.ReadGranted, b.WriteGranted} {
			if g < 64<<10 || (g > socketBuffer && !b.ReadForced && !b.WriteForced) {
				t.Errorf("granted %+v", b)
			}
		}
	}
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(tr.Collector())
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]float64{}
	for _, mf := range mfs {
		if !strings.HasPrefix(mf.GetName(), "qrtn_trunk_socket_buffer_") {
			continue
		}
		for _, m := range mf.GetMetric() {
			got[mf.GetName()+"/"+m.GetLabel()[0].GetValue()] = m.GetGauge().GetValue()
		}
	}
	for k, v := range map[string]int{
		"qrtn_trunk_socket_buffer_requested_bytes/read": b.ReadRequested, "qrtn_trunk_socket_buffer_requested_bytes/write": b.WriteRequested,
		"qrtn_trunk_socket_buffer_granted_bytes/read": b.ReadGranted, "qrtn_trunk_socket_buffer_granted_bytes/write": b.WriteGranted,
	} {
		if x, ok := got[k]; !ok || x != float64(v) {
			t.Errorf("%s = %v (exported: %v), want %d", k, x, ok, v)
		}
	}
}
