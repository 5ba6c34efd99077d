package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/qrtn/qrtn/signaling"
)

const tokenHelp = `Usage: qrtn token --room R --identity I [--name N] [--publish] [--subscribe] [--ttl 6h]
       qrtn token --admin [--identity OPERATOR] [--ttl 1h]

Mints an access token (a JWT signed with HS256, see signaling/PROTOCOL.md)
and prints it. A host is --publish --subscribe; a viewer is --subscribe
alone (the default when neither is given).

With --admin it mints an operator's token for the room API instead
(node/API.md): any node of a network sharing the key and secret accepts it
for every room. Pass it as "Authorization: Bearer TOKEN", or let
qrtn rooms / qrtn participants mint one from the same key and secret.

The API key and secret are those of the node: from --config, then
QRTN_API_KEY and QRTN_API_SECRET, then --api-key and --api-secret.

Flags:
`

func runToken(_ context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("token", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var g signaling.Grant
	var config, key, secret string
	fs.StringVar(&g.Room, "room", "", "room the token may join (required)")
	fs.StringVar(&g.Identity, "identity", "", "participant identity, unique in the room (required)")
	fs.StringVar(&g.Name, "name", "", "display name (default: the identity)")
	fs.BoolVar(&g.Publish, "publish", false, "may publish tracks")
	fs.BoolVar(&g.Subscribe, "subscribe", false, "may receive tracks")
	ttl := fs.Duration("ttl", 6*time.Hour, "lifetime")
	fs.StringVar(&config, "config", "", "node YAML configuration holding api_key and api_secret")
	fs.StringVar(&key, "api-key", "", "API key")
	fs.StringVar(&secret, "api-secret", "", "API secret")
	admin := fs.Bool("admin", false, "mint an admin token for the room API (no room; --identity names the operator)")
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), tokenHelp)
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return err
	}
	if !*admin && (g.Room == "" || g.Identity == "") {
		fs.Usage()
		return errors.New("--room and --identity are required")
	}
	if !g.Publish && !g.Subscribe {
		g.Subscribe = true
	}
	key, secret, err := apiCredentials(config, key, secret)
	if err != nil {
		return err
	}
	var tok string
	if *admin {
		tok, err = signaling.MintAdminToken(key, secret, g.Identity, *ttl, time.Now())
	} else {
		tok, err = signaling.MintToken(key, secret, g, *ttl, time.Now())
	}
	if err != nil {
		return err
	}
	_, err = fmt.Fprintln(stdout, tok)
	return err
}

// apiCredentials resolves the API key and secret: flags win over the
// environment, which wins over the configuration file.
func apiCredentials(config, key, secret string) (string, string, error) {
	key, secret = pick(key, os.Getenv("QRTN_API_KEY")), pick(secret, os.Getenv("QRTN_API_SECRET"))
	if config != "" {
		cfg, err := loadConfigFile(config)
		if err != nil {
			return "", "", err
		}
		key, secret = pick(key, cfg.APIKey), pick(secret, cfg.APISecret)
	}
	if key == "" || secret == "" {
		return "", "", errors.New("no API key and secret: use --config, QRTN_API_KEY/QRTN_API_SECRET or --api-key/--api-secret (qrtn demo prints its own)")
	}
	return key, secret, nil
}

// pick returns the first non-empty value.
func pick(first, second string) string {
	if first != "" {
		return first
	}
	return second
}
