package handshake

import (
	"net/netip"
	"testing"
	"time"
)

func TestCookies(t *testing.T) {
	addr := netip.MustParseAddrPort("192.0.2.7:4433")
	ids := []byte{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16}
	jar := NewCookieJar(seeded(1))
	cookie := jar.Make(t0, addr, ids)
	if len(cookie) != CookieSize || CookieSize > 32 {
		t.Fatalf("cookie of %d bytes", len(cookie))
	}
	otherIDs := append([]byte(nil), ids...)
	otherIDs[15] ^= 1
	flipped := append([]byte(nil), cookie...)
	flipped[len(flipped)-1] ^= 1
	restamped := append([]byte(nil), cookie...)
	restamped[3]++ // a later time, to stretch the lifetime

	cases := []struct {
		name   string
		at     time.Duration
		addr   string
		ids    []byte
		cookie []byte
		ok     bool
	}{
		{"valid at once", 0, "192.0.2.7:4433", ids, cookie, true},
		{"valid at lifetime", CookieLifetime, "192.0.2.7:4433", ids, cookie, true},
		{"expired", CookieLifetime + time.Second, "192.0.2.7:4433", ids, cookie, false},
		{"from the future", -2 * time.Second, "192.0.2.7:4433", ids, cookie, false},
		{"wrong address", 0, "192.0.2.8:4433", ids, cookie, false},
		{"wrong port", 0, "192.0.2.7:4434", ids, cookie, false},
		{"same address as IPv4-mapped IPv6", 0, "[::ffff:192.0.2.7]:4433", ids, cookie, true},
		{"wrong ids", 0, "192.0.2.7:4433", otherIDs, cookie, false},
		{"tampered MAC", 0, "192.0.2.7:4433", ids, flipped, false},
		{"tampered time", 0, "192.0.2.7:4433", ids, restamped, false},
		{"truncated", 0, "192.0.2.7:4433", ids, cookie[:CookieSize-1], false},
		{"empty", 0, "192.0.2.7:4433", ids, nil, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := jar.Verify(t0.Add(c.at), netip.MustParseAddrPort(c.addr), c.ids, c.cookie)
			if got != c.ok {
				t.Fatalf("Verify = %v, want %v", got, c.ok)
			}
		})
	}
	if NewCookieJar(seeded(2)).Verify(t0, addr, ids, cookie) {
		t.Fatal("a jar with another secret accepted the cookie")
	}
}

func TestCookieSecretRotation(t *testing.T) {
	addr := netip.MustParseAddrPort("[2001:db8::1]:9000")
	jar := NewCookieJar(seeded(1))
	jar.Make(t0, addr, nil) // starts the rotation clock

	// Made just before a rotation, checked just after: the previous secret
	// still verifies it.
	made := t0.Add(CookieRotation - time.Second)
	cookie := jar.Make(made, addr, nil)
	if !jar.Verify(made.Add(2*time.Second), addr, nil, cookie) {
		t.Fatal("cookie made under the previous secret refused")
	}
	fresh := jar.Make(made.Add(2*time.Second), addr, nil)
	if !jar.Verify(made.Add(3*time.Second), addr, nil, fresh) {
		t.Fatal("cookie made under the new secret refused")
	}
	// A second rotation drops that secret. Checked at a time where its
	// age is fine (the clock stepped back), it must now be refused.
	jar.Make(made.Add(2*time.Second+CookieRotation), addr, nil)
	if jar.Verify(made.Add(2*time.Second), addr, nil, cookie) {
		t.Fatal("cookie under a secret two rotations old accepted")
	}
}
