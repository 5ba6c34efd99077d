package main

import (
	"bytes"
	"encoding/json"
	"testing"
)

// TestLoadtestInProcessJSON runs the subcommand against its own in-process
// node and checks the last thing on stdout is one JSON report.
func TestLoadtestInProcessJSON(t *testing.T) {
	var out, errb bytes.Buffer
	args := []string{"loadtest", "--subscribers", "1", "--warmup", "500ms", "--duration", "1s", "--interval", "0", "--json"}
	if code := run(args, &out, &errb); code != 0 {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	var rep struct {
		VideoTracks int `json:"video_down_tracks"`
		Frames      int `json:"frames"`
	}
	if err := json.Unmarshal(out.Bytes(), &rep); err != nil {
		t.Fatalf("stdout is not one JSON object: %v\n%s", err, out.String())
	}
	if rep.VideoTracks != 1 || rep.Frames == 0 {
		t.Fatalf("report %+v: want one video down-track with frames", rep)
	}
}

func TestLoadtestHelp(t *testing.T) {
	var out, errb bytes.Buffer
	if code := run([]string{"loadtest", "--help"}, &out, &errb); code != 0 {
		t.Fatalf("--help exit %d", code)
	}
	if !bytes.Contains(errb.Bytes(), []byte("--node-pid")) {
		t.Fatalf("help does not explain --node-pid:\n%s", errb.String())
	}
}
