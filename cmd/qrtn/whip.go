package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/qrtn/qrtn/signaling"
	"github.com/qrtn/qrtn/whip"
)

const whipHelp = `Usage: qrtn whip --room R [--file clip.ivf] [--identity I] [--url URL] [flags]

Publishes a VP8 clip into a room over WHIP (RFC 9725): POST /whip/ROOM with
an SDP offer and a bearer token, then RTP until interrupted (or --duration),
then DELETE. The clip loops; a key frame request from the node restarts it
at its first frame. Without --file it plays a short built-in test clip.

Watch it from any node of the network, e.g. the demo page of another
region's node with the same room. The token is --token, or minted for
--identity with publish rights from the API key and secret (qrtn demo
prints them), as for qrtn rooms.

Flags:
`

func runWHIP(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("whip", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var af apiFlags
	af.register(fs)
	room := fs.String("room", "", "room to publish into (required)")
	file := fs.String("file", "", "VP8 IVF clip (default: the built-in test clip)")
	identity := fs.String("identity", "", "participant identity (default whip-RANDOM)")
	mode := fs.String("mode", "", "room mode if the room is new: meeting or live")
	duration := fs.Duration("duration", 0, "stop after this long (0: until interrupted)")
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), whipHelp)
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *room == "" {
		fs.Usage()
		return errors.New("--room is required")
	}
	clip, err := loadClip(*file)
	if err != nil {
		return err
	}
	if *identity == "" {
		*identity = "whip-" + randomToken(3)
	}
	base := pick(pick(af.url, os.Getenv("QRTN_URL")), "http://"+devHTTPAddr+"/")
	tok := pick(af.token, os.Getenv("QRTN_TOKEN"))
	if tok == "" {
		key, secret, err := apiCredentials(af.config, af.key, af.secret)
		if err != nil {
			return err
		}
		if tok, err = signaling.MintToken(key, secret, signaling.Grant{Identity: *identity, Room: *room, Publish: true}, 6*time.Hour, time.Now()); err != nil {
			return err
		}
	}
	endpoint := strings.TrimSuffix(base, "/") + "/whip/" + url.PathEscape(*room)
	if *mode != "" {
		endpoint += "?mode=" + url.QueryEscape(*mode)
	}
	cctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	c, err := whip.Publish(cctx, endpoint, tok, clip)
	cancel()
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "whip: publishing %d-frame clip as %s into %s at %s\n", len(clip), *identity, *room, endpoint)
	var done <-chan time.Time
	if *duration > 0 {
		done = time.After(*duration)
	}
	tick := time.NewTicker(5 * time.Second)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return c.Close()
		case <-done:
			return c.Close()
		case <-tick.C:
			fmt.Fprintf(stdout, "whip: %d frames sent, connected=%v\n", c.Frames(), c.Connected())
		}
	}
}

func loadClip(path string) ([]whip.Frame, error) {
	if path == "" {
		return whip.DefaultClip()
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return whip.ReadIVF(f)
}
