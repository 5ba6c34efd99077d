package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"

	"github.com/qrtn/qrtn/qrtp/handshake"
)

const keyHelp = `Usage:
  qrtn key generate [--out FILE]
  qrtn key public --in FILE

Node keys are Curve25519 key pairs: the long-term identity a node proves in
the QRTP handshake (Noise IK). Peers list each other's public keys in their
configuration, which lets an initiator send encrypted data in its first
datagram. Keys are written as standard base64 (44 characters).

  generate   Make a new key pair. With --out, the private key is written to
             FILE (mode 0600; an existing file is never overwritten) and only
             the public key is printed, so PUB=$(qrtn key generate --out
             node.key) captures it. Without --out both keys are printed, as
             "private_key: ..." and "public_key: ..." lines.
  public     Print the public key of the private key stored in FILE.

Nodes load their key with handshake.LoadOrCreateKeyPair, which creates the
file on first start; these commands prepare keys and configuration ahead.

Flags:
`

func runKey(_ context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("key", flag.ContinueOnError)
	fs.SetOutput(stderr)
	out := fs.String("out", "", "generate: write the private key to this file instead of printing it")
	in := fs.String("in", "", "public: the private key file to read (required)")
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), keyHelp)
		fs.PrintDefaults()
	}
	if len(args) == 0 {
		fs.Usage()
		return errors.New("missing action: generate or public")
	}
	action := args[0]
	if action == "-h" || action == "--help" || action == "help" {
		fs.SetOutput(stdout)
		fs.Usage()
		return flag.ErrHelp
	}
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	switch action {
	case "generate":
		if *in != "" {
			return errors.New("--in belongs to qrtn key public")
		}
		return keyGenerate(*out, stdout)
	case "public":
		if *out != "" {
			return errors.New("--out belongs to qrtn key generate")
		}
		if *in == "" {
			return errors.New("qrtn key public needs --in FILE")
		}
		kp, err := handshake.LoadKeyPair(*in)
		if err != nil {
			return err
		}
		_, err = fmt.Fprintln(stdout, kp.Public)
		return err
	default:
		fs.Usage()
		return fmt.Errorf("unknown action %q: want generate or public", action)
	}
}

func keyGenerate(out string, stdout io.Writer) error {
	kp, err := handshake.GenerateKeyPair(nil)
	if err != nil {
		return err
	}
	if out == "" {
		_, err = fmt.Fprintf(stdout, "private_key: %s\npublic_key: %s\n", kp.Private, kp.Public)
		return err
	}
	if err := handshake.WritePrivateKeyFile(out, kp.Private); err != nil {
		return err
	}
	_, err = fmt.Fprintln(stdout, kp.Public)
	return err
}
