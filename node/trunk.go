package node

import (
	"errors"
	"net/http"

	"github.com/qrtn/qrtn/trunk"
	"github.com/qrtn/qrtn/trunk/route"
	"github.com/qrtn/qrtn/web"
)

// newTrunk creates the node's trunk side from its trunk section.
func (n *Node) newTrunk() error {
	if n.cfg.Trunk == nil {
		return nil
	}
	tc := *n.cfg.Trunk
	tc.Name, tc.Region, tc.Role = n.cfg.Name, n.cfg.Region, route.Role(n.cfg.Role)
	t, err := trunk.New(tc, n.sfu, n.log)
	if err != nil {
		return err
	}
	n.trunk = t
	return nil
}

// trunkRoutes adds the network page and its JSON. A forwarding node has
// no demo page: its root is the network page.
func (n *Node) trunkRoutes(mux *http.ServeMux) {
	if n.trunk == nil {
		return
	}
	mux.Handle("GET /api/network", n.trunk.APIHandler())
	page := func(w http.ResponseWriter, r *http.Request) {
		r2 := r.Clone(r.Context())
		r2.URL.Path = "/network.html"
		web.Handler().ServeHTTP(w, r2)
	}
	mux.HandleFunc("GET /network", page)
	if n.sfu == nil {
		mux.HandleFunc("GET /{$}", page)
	}
}

// closeParts disconnects the clients, then closes the trunk, signaling
// and the SFU, in that order: the trunk's mirrored participants leave
// before the SFU closes, unheard by clients that are moving elsewhere, and
// the local participants leave after the trunk stopped announcing, so that
// other nodes see them move, not leave.
func (n *Node) closeParts() error {
	var errs []error
	n.join.close()
	if n.sig != nil {
		n.sig.Disconnect() // clients first: they must not hear the trunk's mirrors leave
	}
	if n.trunk != nil {
		errs = append(errs, n.trunk.Close())
	}
	if n.sig != nil {
		errs = append(errs, n.sig.Close())
	}
	if n.sfu != nil {
		errs = append(errs, n.sfu.Close())
	}
	errs = append(errs, n.closeEdge())
	if n.quality != nil {
		errs = append(errs, n.quality.close())
	}
	return errors.Join(errs...)
}
