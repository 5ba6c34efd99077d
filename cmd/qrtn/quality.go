package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/qrtn/qrtn/qoe/attrib"
	"github.com/qrtn/qrtn/qoe/report"
	"github.com/qrtn/qrtn/qoe/store"
)

const qualityHelp = `Usage: qrtn quality report --room R [--participant P] [--json] [--url URL | --db DSN]
       qrtn quality stats --db DSN

Prints the calls of a room from the quality platform: each participant's
node, join time and stall compliance, then every stall with where it began
(the publisher's uplink, a trunk hop from→to, a node, or the subscriber's
downlink) and the evidence: which figure crossed which threshold. It is
what GET /api/quality/calls and the /quality page show.

The records come from a node's API (--url, any node of the network) or
straight from the quality store (--db: a SQLite file or a postgres:// URL).

stats prints how many records of each kind the store holds (and a SQLite
file's size): what a network writes per participant-hour.

Flags:
`

func runQuality(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) > 0 && args[0] == "stats" {
		return runQualityStats(ctx, args[1:], stdout, stderr)
	}
	if len(args) == 0 || args[0] != "report" {
		fmt.Fprint(stderr, qualityHelp)
		if len(args) > 0 && (args[0] == "-h" || args[0] == "--help" || args[0] == "help") {
			return flag.ErrHelp
		}
		return errors.New("qrtn quality: the subcommands are report and stats")
	}
	fs := flag.NewFlagSet("quality report", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), qualityHelp)
		fs.PrintDefaults()
	}
	room := fs.String("room", "", "the room (required)")
	participant := fs.String("participant", "", "only this participant's calls")
	asJSON := fs.Bool("json", false, "print the API's JSON ({calls: [...]}) instead of text")
	base := fs.String("url", "http://127.0.0.1:7880/", "a node's HTTP base URL")
	db := fs.String("db", "", "read the store directly: a SQLite file or a postgres:// URL (instead of --url)")
	since := fs.Duration("since", 24*time.Hour, "how far back to look")
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	if *room == "" {
		fs.Usage()
		return errors.New("qrtn quality report: --room is required")
	}
	now := time.Now()
	f := report.Filter{Room: *room, Participant: *participant, From: now.Add(-*since).UnixMilli(), To: now.UnixMilli()}
	var calls []report.Call
	var err error
	if *db != "" {
		calls, err = callsFromStore(ctx, *db, f, now)
	} else {
		calls, err = callsFromNode(ctx, *base, f)
	}
	if err != nil {
		return err
	}
	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(map[string]any{"calls": calls})
	}
	return printCalls(stdout, *room, calls)
}

func callsFromStore(ctx context.Context, dsn string, f report.Filter, now time.Time) ([]report.Call, error) {
	s, err := store.Open(ctx, dsn)
	if err != nil {
		return nil, err
	}
	defer s.Close()
	return report.Calls(ctx, s, f, now.UnixMilli(), attrib.DefaultThresholds)
}

func callsFromNode(ctx context.Context, base string, f report.Filter) ([]report.Call, error) {
	q := url.Values{"room": {f.Room}, "from": {fmt.Sprint(f.From)}, "to": {fmt.Sprint(f.To)}}
	if f.Participant != "" {
		q.Set("participant", f.Participant)
	}
	u := strings.TrimSuffix(base, "/") + "/api/quality/calls?" + q.Encode()
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, fmt.Errorf("qrtn quality report: %w (is a node running at %s? set --url)", err, base)
	}
	defer resp.Body.Close()
	var body struct {
		Calls []report.Call `json:"calls"`
		Error string        `json:"error"`
	}
	if err := json.NewDecoder(io.LimitReader(resp.Body, 64<<20)).Decode(&body); err != nil {
		return nil, fmt.Errorf("qrtn quality report: %s answered %s: %w", u, resp.Status, err)
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("qrtn quality report: %s: %s", resp.Status, body.Error)
	}
	return body.Calls, nil
}

// printCalls writes the report for a person.
func printCalls(w io.Writer, room string, calls []report.Call) error {
	if len(calls) == 0 {
		_, err := fmt.Fprintf(w, "room %s: no calls in the window\n", room)
		return err
	}
	fmt.Fprintf(w, "room %s: %d calls\n\n", room, len(calls))
	tw := tabwriter.NewWriter(w, 2, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "PARTICIPANT\tNODE\tJOINED\tLEFT\tJOIN\tMINUTES\tAUDIO\tVIDEO\tCOMPLIANCE")
	for _, c := range calls {
		left := "in call"
		if c.LeftAt > 0 {
			left = clock(c.LeftAt)
		}
		join := "-"
		if c.JoinMs > 0 {
			join = fmt.Sprintf("%d ms", c.JoinMs)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%d\t%d\t%d\t%.2f%%\n", label(c), c.Node, clock(c.JoinedAt), left, join,
			c.Minutes, c.AudioStalls, c.VideoStalls, 100*c.Compliance)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	for _, c := range calls {
		if len(c.Stalls) == 0 {
			continue
		}
		fmt.Fprintf(w, "\n%s's stalls:\n", label(c))
		for _, s := range c.Stalls {
			where := s.Cause.Where
			switch {
			case s.Cause.Hop != "":
				where += " " + s.Cause.Hop
			case s.Cause.Node != "":
				where += " " + s.Cause.Node
			}
			fmt.Fprintf(w, "  %s  %-5s %5d ms  from %s  → %s\n      %s\n", clock(s.At), s.Kind, s.DurationMs, s.Publisher, where, s.Cause.Evidence)
		}
	}
	return nil
}

func label(c report.Call) string {
	if c.Name != "" && c.Name != c.Participant {
		return c.Name + " (" + c.Participant + ")"
	}
	return c.Participant
}

func clock(ms int64) string { return time.UnixMilli(ms).Format("2006-01-02 15:04:05") }

func runQualityStats(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("quality stats", flag.ContinueOnError)
	fs.SetOutput(stderr)
	db := fs.String("db", "", "the store: a SQLite file or a postgres:// URL (required)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *db == "" {
		return errors.New("qrtn quality stats: --db is required")
	}
	s, err := store.Open(ctx, *db)
	if err != nil {
		return err
	}
	defer s.Close()
	counts, err := s.Counts(ctx)
	if err != nil {
		return err
	}
	names := make([]string, 0, len(counts))
	var total int64
	for n, c := range counts {
		names = append(names, n)
		total += c
	}
	sort.Strings(names)
	tw := tabwriter.NewWriter(stdout, 2, 4, 2, ' ', 0)
	for _, n := range names {
		fmt.Fprintf(tw, "%s\t%d\n", n, counts[n])
	}
	fmt.Fprintf(tw, "total\t%d\n", total)
	hours, err := s.ParticipantHours(ctx)
	if err != nil {
		return err
	}
	fmt.Fprintf(tw, "participant-hours (ended calls)\t%.3f\n", hours)
	if hours > 0 {
		fmt.Fprintf(tw, "records per participant-hour\t%.0f\n", float64(total)/hours)
	}
	if d, path, _ := store.ParseDSN(*db); d == store.SQLite {
		var size int64
		for _, suffix := range []string{"", "-wal"} {
			if st, err := os.Stat(path + suffix); err == nil {
				size += st.Size()
			}
		}
		fmt.Fprintf(tw, "bytes on disk\t%d\n", size)
		if hours > 0 {
			fmt.Fprintf(tw, "bytes per participant-hour (with indexes and the empty schema)\t%.0f\n", float64(size)/hours)
		}
	}
	return tw.Flush()
}
