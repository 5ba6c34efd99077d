package node

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/qrtn/qrtn/sfu"
)

// TestAdminDrain: POST /api/drain needs an admin token; with one, a node
// without clients drains and closes at once.
func TestAdminDrain(t *testing.T) {
	n, err := New(Config{Dev: true, SFU: sfu.Config{UDPAddr: "127.0.0.1:0"}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := n.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	defer n.Close()
	post := func(tok string) int {
		req, _ := http.NewRequest(http.MethodPost, n.URL()+"api/drain", nil)
		if tok != "" {
			req.Header.Set("Authorization", "Bearer "+tok)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if code := post(""); code != http.StatusUnauthorized {
		t.Fatalf("without a token: %d", code)
	}
	if n.Draining() {
		t.Fatal("an unauthorized call started a drain")
	}
	if code := post(adminToken(t, n)); code != http.StatusAccepted {
		t.Fatalf("with an admin token: %d", code)
	}
	select {
	case <-n.Done():
	case <-time.After(n.DrainBound()):
		t.Fatal("the drained node did not close")
	}
}
