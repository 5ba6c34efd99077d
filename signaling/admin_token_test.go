package signaling

import (
	"errors"
	"testing"
	"time"
)

func TestAdminToken(t *testing.T) {
	now := time.Now()
	v, err := NewVerifier(testKey, testSecret)
	if err != nil {
		t.Fatal(err)
	}
	adm, err := MintAdminToken(testKey, testSecret, "ops", time.Minute, now)
	if err != nil {
		t.Fatal(err)
	}
	if op, err := v.VerifyAdmin(adm, now); err != nil || op != "ops" {
		t.Fatalf("admin token: %q %v", op, err)
	}
	if _, err := v.Verify(adm, now); !errors.Is(err, ErrBadToken) {
		t.Fatalf("an admin token joined a room: %v", err)
	}
	user, _ := MintToken(testKey, testSecret, Grant{Identity: "a", Room: "r", Publish: true}, time.Minute, now)
	if _, err := v.VerifyAdmin(user, now); !errors.Is(err, ErrNotAdmin) {
		t.Fatalf("participant token as admin: %v", err)
	}
	if _, err := v.VerifyAdmin(adm, now.Add(2*time.Minute)); !errors.Is(err, ErrBadToken) {
		t.Fatalf("expired admin token: %v", err)
	}
	other, _ := MintAdminToken(testKey, "another-secret-of-16+", "", time.Minute, now)
	if _, err := v.VerifyAdmin(other, now); !errors.Is(err, ErrBadToken) {
		t.Fatalf("admin token of another secret: %v", err)
	}
	if _, err := v.VerifyAdmin("garbage", now); !errors.Is(err, ErrBadToken) {
		t.Fatalf("garbage: %v", err)
	}
}
