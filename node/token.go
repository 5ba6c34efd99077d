package node

import (
	"encoding/json"
	"net/http"
	"strings"

	"github.com/qrtn/qrtn/signaling"
)

// handleToken mints a demo token in dev mode: GET
// /api/token?room=R&name=N&role=host|viewer[&identity=I]. The identity
// defaults to the name with a random suffix, so two tabs with the same
// name do not replace each other.
func (n *Node) handleToken(w http.ResponseWriter, r *http.Request) {
	if !n.cfg.Dev {
		http.NotFound(w, r)
		return
	}
	q := r.URL.Query()
	room, name, role, id := q.Get("room"), q.Get("name"), q.Get("role"), q.Get("identity")
	if name == "" {
		name = "guest"
	}
	if id == "" {
		id = strings.ToLower(name) + "-" + randomString(3)
	}
	g := signaling.Grant{Identity: id, Name: name, Room: room, Subscribe: true}
	switch role {
	case "", "host":
		g.Publish = true
	case "viewer":
	default:
		http.Error(w, "role must be host or viewer", http.StatusBadRequest)
		return
	}
	tok, err := n.MintToken(g, n.cfg.DevTokenTTL)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Access-Control-Allow-Origin", "*") // dev tokens are for anyone; pages on other nodes fetch them (qrtn-join.js)
	_ = json.NewEncoder(w).Encode(map[string]string{"token": tok, "identity": id})
}
