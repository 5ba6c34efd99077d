package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/url"
	"strings"
	"text/tabwriter"
	"time"
)

const roomsHelp = `Usage: qrtn rooms list [flags]
       qrtn rooms create NAME [--mode meeting|live] [--max N] [--empty-timeout 5m] [--node NODE] [flags]
       qrtn rooms close NAME [flags]

Lists, creates and closes rooms through any node's room API (node/API.md);
the node answers for the whole network. The admin token is minted from the
network's API key and secret (qrtn demo prints them):

  qrtn rooms list --url http://127.0.0.1:PORT/ --api-key K --api-secret S

create opens an empty room on NODE (default: the node asked, or the first
access node) and keeps it open while empty for --empty-timeout; joins on
any node then take its mode and limit. close disconnects everybody in the
room on every node. --json prints the API's answer.

Flags:
`

func runRooms(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("rooms", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var af apiFlags
	af.register(fs)
	mode := fs.String("mode", "", "create: meeting or live (default meeting)")
	max := fs.Int("max", 0, "create: participant limit (0: the node's default)")
	empty := fs.Duration("empty-timeout", 5*time.Minute, "create: how long the room stays open while empty")
	nodeName := fs.String("node", "", "create: the access node that hosts the room")
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), roomsHelp)
		fs.PrintDefaults()
	}
	pos, err := parseInterspersed(fs, args)
	if err != nil {
		return err
	}
	if len(pos) == 0 {
		fs.Usage()
		return errors.New("a subcommand is required: list, create or close")
	}
	c, err := af.client()
	if err != nil {
		return err
	}
	switch {
	case pos[0] == "list" && len(pos) == 1:
		var out struct {
			Rooms []cliRoom `json:"rooms"`
		}
		b, err := c.call(ctx, "GET", "api/rooms", nil, &out)
		if err != nil {
			return err
		}
		if c.json {
			return printJSON(stdout, b)
		}
		return printRooms(stdout, out.Rooms)
	case pos[0] == "create" && len(pos) == 2:
		body := map[string]any{"name": pos[1], "mode": *mode, "max_participants": *max,
			"empty_timeout": int64(empty.Round(time.Second) / time.Second), "node": *nodeName}
		var r cliRoom
		b, err := c.call(ctx, "POST", "api/rooms", body, &r)
		if err != nil {
			return err
		}
		if c.json {
			return printJSON(stdout, b)
		}
		where := ""
		if len(r.Nodes) > 0 {
			where = " on " + r.Nodes[0].Name
		}
		_, err = fmt.Fprintf(stdout, "created room %s (%s)%s, open while empty for %ds\n", r.Name, r.Mode, where, r.EmptyTimeout)
		return err
	case pos[0] == "close" && len(pos) == 2:
		var r struct {
			Removed int `json:"removed"`
		}
		b, err := c.call(ctx, "DELETE", "api/rooms/"+url.PathEscape(pos[1]), nil, &r)
		if err != nil {
			return err
		}
		if c.json {
			return printJSON(stdout, b)
		}
		_, err = fmt.Fprintf(stdout, "closed room %s: %d participants disconnected\n", pos[1], r.Removed)
		return err
	}
	fs.Usage()
	return fmt.Errorf("unknown or incomplete subcommand %q", strings.Join(pos, " "))
}

func printRooms(w io.Writer, rooms []cliRoom) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ROOM\tMODE\tPARTICIPANTS\tNODES")
	for _, r := range rooms {
		var nodes []string
		for _, n := range r.Nodes {
			nodes = append(nodes, n.Name+"("+n.Region+")")
		}
		fmt.Fprintf(tw, "%s\t%s\t%d\t%s\n", r.Name, r.Mode, len(r.Participants), strings.Join(nodes, ","))
	}
	if len(rooms) == 0 {
		fmt.Fprintln(tw, "(no rooms)")
	}
	return tw.Flush()
}
