// Package store keeps qrtn's quality records in SQLite (modernc.org/sqlite,
// pure Go: the embedded default, one file in a node's data directory) or
// PostgreSQL (pgx: one database for a whole network). Both run the same
// SQL and the same tests; the schema is versioned (schema.go) and migrated
// on Open. Writer batches records off the media path, holds them while the
// database is away, and drops (and counts) beyond its bound.
//
// It knows SQL and the qoe records; it must not know how records are made
// or what they mean.
package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // registers "pgx"
	_ "modernc.org/sqlite"             // registers "sqlite"
)

// Dialect is the database kind.
type Dialect string

// The two databases.
const (
	SQLite   Dialect = "sqlite"
	Postgres Dialect = "postgres"
)

// Store is an open quality database. It is safe for concurrent use.
type Store struct {
	tables  tableSet
	db      *sql.DB
	dialect Dialect
	where   string // for messages: the file or the host
}

// ParseDSN tells a PostgreSQL URL (postgres:// or postgresql://) from a
// SQLite file path (a plain path, or sqlite:PATH).
func ParseDSN(dsn string) (Dialect, string, error) {
	switch {
	case dsn == "":
		return "", "", errors.New("store: empty database (a SQLite file path or a postgres:// URL)")
	case strings.HasPrefix(dsn, "postgres://"), strings.HasPrefix(dsn, "postgresql://"):
		return Postgres, dsn, nil
	case strings.HasPrefix(dsn, "sqlite:"):
		return SQLite, strings.TrimPrefix(dsn, "sqlite:"), nil
	}
	return SQLite, dsn, nil
}

// Open opens (and creates, for SQLite) the database named by dsn and
// migrates its schema to the current version.
func Open(ctx context.Context, dsn string) (*Store, error) {
	d, target, err := ParseDSN(dsn)
	if err != nil {
		return nil, err
	}
	s := &Store{tables: newTableSet(), dialect: d, where: target}
	switch d {
	case SQLite:
		if err := os.MkdirAll(filepath.Dir(target), 0o755); err != nil {
			return nil, fmt.Errorf("store: %w", err)
		}
		// WAL lets the pages read while a node writes; the busy timeout
		// lets several nodes of one process share the file; immediate
		// transactions take the write lock up front, so two writers never
		// deadlock on an upgrade.
		s.db, err = sql.Open("sqlite", "file:"+target+
			"?_pragma=busy_timeout(10000)&_pragma=journal_mode(WAL)&_pragma=synchronous(NORMAL)&_txlock=immediate")
		if err == nil {
			s.db.SetMaxOpenConns(4)
		}
		s.where = target
	case Postgres:
		s.db, err = sql.Open("pgx", target)
		if err == nil {
			s.db.SetMaxOpenConns(8)
			s.db.SetConnMaxIdleTime(time.Minute)
		}
		s.where = redact(target)
	}
	if err != nil {
		return nil, fmt.Errorf("store: open %s: %w", s.where, err)
	}
	if err := s.migrate(ctx); err != nil {
		_ = s.db.Close()
		return nil, err
	}
	return s, nil
}

// redact hides a URL's password.
func redact(dsn string) string {
	at := strings.LastIndex(dsn, "@")
	scheme := strings.Index(dsn, "://")
	if at < 0 || scheme < 0 {
		return dsn
	}
	user := dsn[scheme+3 : at]
	if i := strings.Index(user, ":"); i >= 0 {
		user = user[:i] + ":***"
	}
	return dsn[:scheme+3] + user + dsn[at:]
}

// Dialect is the database kind.
func (s *Store) Dialect() Dialect { return s.dialect }

// String names the database for logs (without secrets).
func (s *Store) String() string { return string(s.dialect) + " " + s.where }

// Close closes the database.
func (s *Store) Close() error { return s.db.Close() }

// Ping checks the database answers.
func (s *Store) Ping(ctx context.Context) error { return s.db.PingContext(ctx) }

// rebind turns the ? placeholders of portable SQL into PostgreSQL's $N.
func (s *Store) rebind(q string) string {
	if s.dialect != Postgres {
		return q
	}
	var b strings.Builder
	n := 0
	for i := 0; i < len(q); i++ {
		if q[i] == '?' {
			n++
			fmt.Fprintf(&b, "$%d", n)
			continue
		}
		b.WriteByte(q[i])
	}
	return b.String()
}
