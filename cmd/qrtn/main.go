// Command qrtn is the single binary of the qrtn real-time media network:
// access and forwarding nodes, the in-process demo network, and the tools
// that measure them. Each subcommand lives in its own file.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"sort"
	"syscall"
)

// command is one subcommand. run gets the arguments after the subcommand's
// name and returns an error to report; flag.ErrHelp means usage was printed.
type command struct {
	summary string
	run     func(ctx context.Context, args []string, stdout, stderr io.Writer) error
}

// commands lists the subcommands. A new subcommand adds one line here.
func commands() map[string]command {
	return map[string]command{
		"key":      {"generate node key pairs and show public keys", runKey},
		"relay":    {"forward UDP through an impaired link (rate, queue, delay, jitter, loss)", runRelay},
		"version":  {"print the version", runVersion},
		"bench":    {"run the congestion-control benchmarks in virtual time", runBench},
		"serve":    {"run an access node (SFU, signaling, demo page, metrics)", runServe},
		"token":    {"mint an access token for a room", runToken},
		"perf":     {"measure one QRTP connection over UDP (bulk goodput, media frame latency)", runPerf},
		"loadtest": {"drive a node with synthetic WebRTC clients and measure loss, latency, stalls", runLoadtest},
		"quality":  {"investigate calls: stalls per participant with where each began (qrtn quality report --room R)", runQuality},
		"demo":     {"run a whole network in one process: access nodes in two regions, forwarding nodes, lossy trunks", runDemo},

		"rooms":        {"list, create and close rooms network-wide through the room API", runRooms},
		"participants": {"list, remove and mute participants network-wide through the room API", runParticipants},
		"whip":         {"publish a VP8 clip into a room over WHIP (RFC 9725)", runWHIP},
		"sim":          {"simulate a whole network in virtual time from a scenario file (deterministic, faster than real time)", runSim},
	}
}

const version = "0.1.0-dev"

func runVersion(_ context.Context, _ []string, stdout, _ io.Writer) error {
	_, err := fmt.Fprintf(stdout, "qrtn %s\n", version)
	return err
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "qrtn: an open real-time media network (WebRTC SFUs cascaded over QRTP trunks)")
	fmt.Fprintln(w, "\nUsage: qrtn <command> [flags]   (qrtn <command> --help for a command's flags)")
	fmt.Fprintln(w, "\nCommands:")
	cmds := commands()
	names := make([]string, 0, len(cmds))
	for n := range cmds {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Fprintf(w, "  %-10s %s\n", n, cmds[n].summary)
	}
}

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		usage(stdout)
		if len(args) == 0 {
			return 2
		}
		return 0
	}
	cmd, ok := commands()[args[0]]
	if !ok {
		fmt.Fprintf(stderr, "qrtn: unknown command %q\n\n", args[0])
		usage(stderr)
		return 2
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := cmd.run(ctx, args[1:], stdout, stderr); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		fmt.Fprintf(stderr, "qrtn %s: %v\n", args[0], err)
		return 1
	}
	return 0
}
