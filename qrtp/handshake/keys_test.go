package handshake

import (
	"bytes"
	"errors"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestKeyStrings(t *testing.T) {
	kp := mustKeys(t, 1)
	s := kp.Public.String()
	if len(s) != 44 {
		t.Fatalf("public key string %q is %d chars", s, len(s))
	}
	pub, err := ParsePublicKey(" " + s + "\n")
	if err != nil || pub != kp.Public {
		t.Fatalf("public round trip: %v", err)
	}
	priv, err := ParsePrivateKey(kp.Private.String())
	if err != nil || KeyPairFromPrivate(priv) != kp {
		t.Fatalf("private round trip: %v", err)
	}
	for _, bad := range []string{
		"", "AAAA", strings.Repeat("A", 43), strings.Repeat("A", 44), // 44 A's lack the '=' pad
		s[:43] + "!", s[:42] + "B=", // a non-zero pad bit: not the canonical form
		"-" + s[1:], strings.Repeat("A", 1<<20),
	} {
		if _, err := ParsePublicKey(bad); !errors.Is(err, ErrBadKey) {
			t.Errorf("ParsePublicKey(%.50q) = %v, want ErrBadKey", bad, err)
		}
	}
}

func TestKeyPairIsX25519(t *testing.T) {
	// RFC 7748 section 6.1 test vector (Alice).
	priv, _ := ParsePrivateKey("dwdtCnMYpX08FsFyUbJmRd9ML4frwJkqsXf7pR25LCo=")
	want := "hSDwCYkwp1R0i33ctD73Wg2/Og0mOBr066SpjqqbTmo="
	if got := KeyPairFromPrivate(priv).Public.String(); got != want {
		t.Fatalf("public key %s, want %s", got, want)
	}
}

func TestPrivateKeyRedactedInLogs(t *testing.T) {
	kp := mustKeys(t, 1)
	var buf bytes.Buffer
	slog.New(slog.NewTextHandler(&buf, nil)).Info("x", "priv", kp.Private, "pair", kp)
	if strings.Contains(buf.String(), kp.Private.String()) {
		t.Fatalf("private key logged: %s", buf.String())
	}
	if !strings.Contains(buf.String(), kp.Public.String()) {
		t.Fatalf("key pair log lacks the public key: %s", buf.String())
	}
}

func TestLoadOrCreateKeyPair(t *testing.T) {
	path := filepath.Join(t.TempDir(), "keys", "node.key")
	kp, err := LoadOrCreateKeyPair(path, seeded(1))
	if err != nil {
		t.Fatal(err)
	}
	st, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode().Perm() != 0o600 {
		t.Fatalf("key file mode %v, want 0600", st.Mode().Perm())
	}
	if dst, _ := os.Stat(filepath.Dir(path)); dst.Mode().Perm() != 0o700 {
		t.Fatalf("key directory mode %v, want 0700", dst.Mode().Perm())
	}
	again, err := LoadOrCreateKeyPair(path, seeded(2))
	if err != nil || again != kp {
		t.Fatalf("reload gave another key (%v)", err)
	}
	entries, _ := os.ReadDir(filepath.Dir(path))
	if len(entries) != 1 {
		t.Fatalf("temporary files left behind: %v", entries)
	}

	if err := os.WriteFile(path, []byte("not a key\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadOrCreateKeyPair(path, nil); !errors.Is(err, ErrBadKey) {
		t.Fatalf("corrupt key file: %v, want ErrBadKey (and no overwrite)", err)
	}
	if _, err := LoadKeyPair(filepath.Join(t.TempDir(), "missing")); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("missing file: %v", err)
	}
}

func FuzzParsePublicKey(f *testing.F) {
	f.Add(mustKeys(f, 1).Public.String())
	f.Add("")
	f.Add(strings.Repeat("A", 43) + "=")
	f.Add("hSDwCYkwp1R0i33ctD73Wg2/Og0mOBr066SpjqqbTmo=\n")
	f.Fuzz(func(t *testing.T, s string) {
		k, err := ParsePublicKey(s)
		if err != nil {
			return
		}
		// Canonical: what parses prints back as the trimmed input.
		if k.String() != strings.TrimSpace(s) {
			t.Fatalf("%q parsed but prints as %q", s, k.String())
		}
	})
}
