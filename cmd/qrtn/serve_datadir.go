package main

import (
	"os"
	"path/filepath"
)

// defaultDataDir is where `qrtn serve` keeps a node's files when nothing
// says otherwise: ~/.local/state/qrtn/NAME (XDG_STATE_HOME when set), or
// a directory under the system's temporary one without a home.
func defaultDataDir(name string) string {
	if name == "" {
		name = "dev"
	}
	if d := os.Getenv("XDG_STATE_HOME"); d != "" {
		return filepath.Join(d, "qrtn", name)
	}
	if h, err := os.UserHomeDir(); err == nil {
		return filepath.Join(h, ".local", "state", "qrtn", name)
	}
	return filepath.Join(os.TempDir(), "qrtn-"+name)
}
