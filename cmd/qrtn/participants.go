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
)

const participantsHelp = `Usage: qrtn participants list ROOM [flags]
       qrtn participants remove ROOM IDENTITY [flags]
       qrtn participants mute ROOM IDENTITY (--track ID | --kind audio|video) [--unmute] [flags]

Lists, removes and mutes participants through any node's room API
(node/API.md); the command is carried out by the node the participant is
on, wherever that is in the network. The admin token is minted from the
network's API key and secret (qrtn demo prints them). --json prints the
API's answer.

Flags:
`

func runParticipants(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("participants", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var af apiFlags
	af.register(fs)
	track := fs.String("track", "", "mute: the track ID (from list)")
	kind := fs.String("kind", "", "mute: every track of this kind, audio or video")
	unmute := fs.Bool("unmute", false, "mute: unmute instead")
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), participantsHelp)
		fs.PrintDefaults()
	}
	pos, err := parseInterspersed(fs, args)
	if err != nil {
		return err
	}
	if len(pos) < 2 {
		fs.Usage()
		return errors.New("a subcommand and a room are required")
	}
	c, err := af.client()
	if err != nil {
		return err
	}
	room := url.PathEscape(pos[1])
	switch {
	case pos[0] == "list" && len(pos) == 2:
		var out struct {
			Participants []cliParticipant `json:"participants"`
		}
		b, err := c.call(ctx, "GET", "api/rooms/"+room+"/participants", nil, &out)
		if err != nil {
			return err
		}
		if c.json {
			return printJSON(stdout, b)
		}
		return printParticipants(stdout, out.Participants)
	case pos[0] == "remove" && len(pos) == 3:
		b, err := c.call(ctx, "DELETE", "api/rooms/"+room+"/participants/"+url.PathEscape(pos[2]), nil, nil)
		if err != nil {
			return err
		}
		if c.json {
			return printJSON(stdout, b)
		}
		_, err = fmt.Fprintf(stdout, "removed %s from %s\n", pos[2], pos[1])
		return err
	case pos[0] == "mute" && len(pos) == 3:
		if (*track == "") == (*kind == "") {
			return errors.New("mute needs --track ID or --kind audio|video")
		}
		body := map[string]any{"muted": !*unmute}
		if *track != "" {
			body["track"] = *track
		} else {
			body["kind"] = *kind
		}
		b, err := c.call(ctx, "POST", "api/rooms/"+room+"/participants/"+url.PathEscape(pos[2])+"/mute", body, nil)
		if err != nil {
			return err
		}
		if c.json {
			return printJSON(stdout, b)
		}
		verb := "muted"
		if *unmute {
			verb = "unmuted"
		}
		_, err = fmt.Fprintf(stdout, "%s %s of %s in %s\n", verb, pick(*track, *kind), pos[2], pos[1])
		return err
	}
	fs.Usage()
	return fmt.Errorf("unknown or incomplete subcommand %q", strings.Join(pos, " "))
}

func printParticipants(w io.Writer, ps []cliParticipant) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "IDENTITY\tNAME\tNODE\tREGION\tTRACKS")
	for _, p := range ps {
		var tracks []string
		for _, t := range p.Tracks {
			s := t.Kind + ":" + t.ID
			if t.Muted {
				s += "(muted)"
			}
			tracks = append(tracks, s)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", p.Identity, p.Name, p.Node, p.Region, strings.Join(tracks, " "))
	}
	return tw.Flush()
}
