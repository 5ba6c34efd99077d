package signaling

import "github.com/qrtn/qrtn/sfu"

// Messages caused by an operator through the room API (node/API.md); see
// PROTOCOL.md, "Server → client".
type (
	permissionsOut struct {
		Type      string `json:"type"`
		Publish   bool   `json:"publish"`
		Subscribe bool   `json:"subscribe"`
		Data      bool   `json:"data"`
	}
	dataOut struct {
		Type    string `json:"type"`
		From    string `json:"from"`
		Topic   string `json:"topic,omitempty"`
		Payload string `json:"payload"`
	}
)

// encodeAdminEvent returns the message of an operator's event, nil for
// other events.
func encodeAdminEvent(ev sfu.Event) any {
	switch e := ev.(type) {
	case sfu.PermissionsChanged:
		return permissionsOut{Type: "permissions", Publish: e.Publish, Subscribe: e.Subscribe, Data: e.Data}
	case sfu.ServerData:
		return dataOut{Type: "data", From: "", Topic: e.Topic, Payload: e.Payload}
	}
	return nil
}
