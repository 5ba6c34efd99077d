// Package pgtest starts throwaway PostgreSQL clusters for tests: initdb in
// a temporary directory and a server on a free loopback port. NewDB hands
// each test a fresh database in one cluster shared by the test binary
// (initdb takes seconds on a busy machine); Start gives a test a cluster of
// its own that it may Stop and Start to simulate an outage. PostgreSQL
// refuses to run as root, so as root the cluster runs as the `postgres`
// user (runuser).
//
// The binaries are found in $QRTN_PG_BIN, /usr/lib/postgresql/*/bin or
// PATH. Without them a test is skipped, unless QRTN_REQUIRE_POSTGRES=1
// (as .ci/run sets): then it fails, so CI never passes without PostgreSQL.
package pgtest

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // registers "pgx"
)

// Server is one throwaway cluster.
type Server struct {
	// DSN connects to its postgres database as the postgres superuser.
	DSN  string
	Port int

	bin   string
	dir   string
	owner *user.User // non-nil: run the binaries as this user
}

var errNoBinaries = errors.New("PostgreSQL binaries not found (set QRTN_PG_BIN, or apt-get install postgresql)")

// require skips or fails the test when PostgreSQL is missing.
func require(t testing.TB, err error) {
	t.Helper()
	if errors.Is(err, errNoBinaries) && os.Getenv("QRTN_REQUIRE_POSTGRES") != "1" {
		t.Skip(err)
	}
	if errors.Is(err, errNoBinaries) {
		t.Fatal(err.Error() + "; QRTN_REQUIRE_POSTGRES=1 forbids skipping")
	}
	if err != nil {
		t.Fatal(err)
	}
}

// Start creates and starts a cluster of the test's own; it is removed
// when the test ends.
func Start(t testing.TB) *Server {
	t.Helper()
	s, err := newServer()
	require(t, err)
	t.Cleanup(s.remove)
	return s
}

// Stop stops the server at once, as a crash or an outage looks.
func (s *Server) Stop(t testing.TB) {
	t.Helper()
	if out, err := s.pgctl("stop", "-m", "immediate"); err != nil {
		t.Fatalf("pg_ctl stop: %v\n%s", err, out)
	}
}

// Start starts the stopped server again on the same port.
func (s *Server) Start(t testing.TB) {
	t.Helper()
	if err := s.start(); err != nil {
		t.Fatal(err)
	}
}

// shared is the cluster NewDB hands databases out of, one per test binary.
var shared struct {
	once sync.Once
	srv  *Server
	err  error
	n    atomic.Int64
}

// NewDB returns the DSN of a new, empty database in the test binary's
// shared cluster, started on first use. Main removes the cluster.
func NewDB(t testing.TB) string {
	t.Helper()
	shared.once.Do(func() { shared.srv, shared.err = newServer() })
	require(t, shared.err)
	name := fmt.Sprintf("t%d_%d", os.Getpid(), shared.n.Add(1))
	db, err := sql.Open("pgx", shared.srv.DSN)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Exec("CREATE DATABASE " + name); err != nil {
		t.Fatalf("create database: %v", err)
	}
	return fmt.Sprintf("postgres://postgres@127.0.0.1:%d/%s?sslmode=disable", shared.srv.Port, name)
}

// Main runs the tests and then removes the shared cluster: call it from
// TestMain as os.Exit(pgtest.Main(m)).
func Main(m *testing.M) int {
	code := m.Run()
	if shared.srv != nil {
		shared.srv.remove()
	}
	return code
}

func newServer() (*Server, error) {
	bin := findBin()
	if bin == "" {
		return nil, errNoBinaries
	}
	dir, err := os.MkdirTemp("", "qrtn-pg-")
	if err != nil {
		return nil, err
	}
	s := &Server{bin: bin, dir: dir}
	if os.Geteuid() == 0 {
		u, err := user.Lookup("postgres")
		if err != nil {
			s.remove()
			return nil, fmt.Errorf("running as root needs the postgres user to run PostgreSQL: %w", err)
		}
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		if err := os.Chown(dir, uid, gid); err != nil {
			s.remove()
			return nil, err
		}
		s.owner = u
	}
	if out, err := s.run("initdb", "-D", s.data(), "-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-sync"); err != nil {
		s.remove()
		return nil, fmt.Errorf("initdb: %w\n%s", err, out)
	}
	if s.Port, err = freePort(); err != nil {
		s.remove()
		return nil, err
	}
	s.DSN = fmt.Sprintf("postgres://postgres@127.0.0.1:%d/postgres?sslmode=disable", s.Port)
	if err := s.start(); err != nil {
		s.remove()
		return nil, err
	}
	return s, nil
}

func (s *Server) data() string { return filepath.Join(s.dir, "data") }

func (s *Server) start() error {
	opts := fmt.Sprintf("-p %d -k %s -c listen_addresses=127.0.0.1 -c fsync=off", s.Port, s.dir)
	if out, err := s.run("pg_ctl", "-D", s.data(), "-o", opts, "-l", filepath.Join(s.dir, "log"), "-w", "-t", "120", "start"); err != nil {
		log, _ := os.ReadFile(filepath.Join(s.dir, "log"))
		return fmt.Errorf("pg_ctl start: %w\n%s\n%s", err, out, log)
	}
	return nil
}

// remove stops the server if it runs and deletes the cluster.
func (s *Server) remove() {
	_, _ = s.pgctl("stop", "-m", "immediate")
	_ = os.RemoveAll(s.dir)
}

func (s *Server) pgctl(args ...string) ([]byte, error) {
	return s.run("pg_ctl", append([]string{"-D", s.data(), "-w"}, args...)...)
}

// run runs a PostgreSQL binary, as the owner when there is one.
func (s *Server) run(name string, args ...string) ([]byte, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	path := filepath.Join(s.bin, name)
	var cmd *exec.Cmd
	if s.owner != nil {
		cmd = exec.CommandContext(ctx, "runuser", append([]string{"-u", s.owner.Username, "--", path}, args...)...)
	} else {
		cmd = exec.CommandContext(ctx, path, args...)
	}
	cmd.Dir = s.dir
	cmd.Env = append(os.Environ(), "LC_ALL=C")
	return cmd.CombinedOutput()
}

func findBin() string {
	if d := os.Getenv("QRTN_PG_BIN"); d != "" {
		return d
	}
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	sort.Slice(dirs, func(i, j int) bool { return version(dirs[i]) > version(dirs[j]) })
	for _, d := range dirs {
		if _, err := os.Stat(filepath.Join(d, "initdb")); err == nil {
			return d
		}
	}
	if p, err := exec.LookPath("initdb"); err == nil {
		return filepath.Dir(p)
	}
	return ""
}

func version(dir string) int {
	v, _ := strconv.Atoi(strings.Split(strings.TrimPrefix(dir, "/usr/lib/postgresql/"), "/")[0])
	return v
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}
