package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/qrtn/qrtn/signaling"
)

// apiClient calls a node's room API (node/API.md) for qrtn rooms and qrtn
// participants.
type apiClient struct {
	base, token string
	json        bool
}

// apiFlags are the flags every room API command shares.
type apiFlags struct {
	url, token, config, key, secret string
	json                            bool
}

func (f *apiFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&f.url, "url", "", "any node's HTTP base URL (default $QRTN_URL, else http://127.0.0.1:7880/)")
	fs.StringVar(&f.token, "token", "", "admin token (default: minted from the API key and secret)")
	fs.StringVar(&f.config, "config", "", "node YAML configuration holding api_key and api_secret")
	fs.StringVar(&f.key, "api-key", "", "API key (default $QRTN_API_KEY)")
	fs.StringVar(&f.secret, "api-secret", "", "API secret (default $QRTN_API_SECRET)")
	fs.BoolVar(&f.json, "json", false, "print the API's JSON answer")
}

func (f *apiFlags) client() (*apiClient, error) {
	base := pick(pick(f.url, os.Getenv("QRTN_URL")), "http://"+devHTTPAddr+"/")
	if !strings.HasSuffix(base, "/") {
		base += "/"
	}
	tok := pick(f.token, os.Getenv("QRTN_TOKEN"))
	if tok == "" {
		key, secret, err := apiCredentials(f.config, f.key, f.secret)
		if err != nil {
			return nil, err
		}
		if tok, err = signaling.MintAdminToken(key, secret, "qrtn-cli", 5*time.Minute, time.Now()); err != nil {
			return nil, err
		}
	}
	return &apiClient{base: base, token: tok, json: f.json}, nil
}

// parseInterspersed parses flags that may come after positional arguments
// (qrtn rooms create NAME --mode live) and returns the positionals.
func parseInterspersed(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		if fs.NArg() == 0 {
			return pos, nil
		}
		pos = append(pos, fs.Arg(0))
		args = fs.Args()[1:]
	}
}

// call sends one request and decodes the answer into out (nil: ignored).
// An error answer becomes an error carrying its code and message.
func (c *apiClient) call(ctx context.Context, method, path string, body any, out any) ([]byte, error) {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return nil, err
		}
		rd = bytes.NewReader(b)
	}
	ctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, method, c.base+strings.TrimPrefix(path, "/"), rd)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Authorization", "Bearer "+c.token)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, fmt.Errorf("%s %s: %w (is a node running there? --url)", method, c.base, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return nil, err
	}
	if resp.StatusCode >= 300 {
		var e struct {
			Error struct{ Code, Message string } `json:"error"`
		}
		if json.Unmarshal(b, &e) == nil && e.Error.Code != "" {
			return b, fmt.Errorf("%s (%d): %s", e.Error.Code, resp.StatusCode, e.Error.Message)
		}
		return b, fmt.Errorf("%s %s: %s", method, path, resp.Status)
	}
	if out != nil {
		if err := json.Unmarshal(b, out); err != nil {
			return b, fmt.Errorf("%s %s: answer is not the expected JSON: %w", method, path, err)
		}
	}
	return b, nil
}

// printJSON writes an API answer as indented JSON.
func printJSON(w io.Writer, b []byte) error {
	var buf bytes.Buffer
	if err := json.Indent(&buf, bytes.TrimSpace(b), "", "  "); err != nil {
		_, err = w.Write(b)
		return err
	}
	buf.WriteByte('\n')
	_, err := w.Write(buf.Bytes())
	return err
}

// The room API's JSON, as the commands print it.
type (
	cliRoom struct {
		Name            string           `json:"name"`
		Mode            string           `json:"mode"`
		MaxParticipants int              `json:"max_participants"`
		EmptyTimeout    int64            `json:"empty_timeout"`
		Nodes           []cliNode        `json:"nodes"`
		Participants    []cliParticipant `json:"participants"`
	}
	cliNode struct {
		Name   string `json:"name"`
		Region string `json:"region"`
	}
	cliParticipant struct {
		Identity string `json:"identity"`
		Name     string `json:"name"`
		Node     string `json:"node"`
		Region   string `json:"region"`
		Tracks   []struct {
			ID    string `json:"id"`
			Kind  string `json:"kind"`
			Mime  string `json:"mime"`
			Muted bool   `json:"muted"`
		} `json:"tracks"`
	}
)
