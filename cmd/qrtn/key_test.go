package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/qrtn/qrtn/qrtp/handshake"
)

func TestKeyGenerateAndPublic(t *testing.T) {
	path := filepath.Join(t.TempDir(), "node.key")
	var out, errb bytes.Buffer
	if code := run([]string{"key", "generate", "--out", path}, &out, &errb); code != 0 {
		t.Fatalf("generate: exit %d: %s", code, errb.String())
	}
	pub, err := handshake.ParsePublicKey(out.String())
	if err != nil {
		t.Fatalf("generate printed %q: %v", out.String(), err)
	}
	st, err := os.Stat(path)
	if err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("key file: %v, mode %v", err, st.Mode().Perm())
	}
	kp, err := handshake.LoadKeyPair(path)
	if err != nil || kp.Public != pub {
		t.Fatalf("file holds another key than printed (%v)", err)
	}

	out.Reset()
	if code := run([]string{"key", "public", "--in", path}, &out, &errb); code != 0 || strings.TrimSpace(out.String()) != pub.String() {
		t.Fatalf("public: exit %d, %q", code, out.String())
	}

	errb.Reset()
	if code := run([]string{"key", "generate", "--out", path}, &out, &errb); code != 1 || !strings.Contains(errb.String(), "already exists") {
		t.Fatalf("overwrite: exit %d, %s", code, errb.String())
	}
	if again, _ := handshake.LoadKeyPair(path); again != kp {
		t.Fatal("the existing key file was replaced")
	}
}

func TestKeyGeneratePrintsBoth(t *testing.T) {
	var out, errb bytes.Buffer
	if code := run([]string{"key", "generate"}, &out, &errb); code != 0 {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if len(lines) != 2 || !strings.HasPrefix(lines[0], "private_key: ") || !strings.HasPrefix(lines[1], "public_key: ") {
		t.Fatalf("output %q", out.String())
	}
	priv, err := handshake.ParsePrivateKey(strings.TrimPrefix(lines[0], "private_key: "))
	if err != nil {
		t.Fatal(err)
	}
	if got := handshake.KeyPairFromPrivate(priv).Public.String(); got != strings.TrimPrefix(lines[1], "public_key: ") {
		t.Fatal("printed public key does not belong to the printed private key")
	}
}

func TestKeyUsageErrors(t *testing.T) {
	for _, args := range [][]string{
		{"key"}, {"key", "rotate"}, {"key", "public"}, {"key", "public", "--in", "/nonexistent/key"},
		{"key", "generate", "--in", "x"},
	} {
		var out, errb bytes.Buffer
		if code := run(args, &out, &errb); code == 0 {
			t.Errorf("%q succeeded", args)
		}
	}
	var out, errb bytes.Buffer
	if code := run([]string{"key", "--help"}, &out, &errb); code != 0 || !strings.Contains(out.String(), "qrtn key generate") {
		t.Fatalf("--help: exit %d, %q", code, out.String())
	}
}
