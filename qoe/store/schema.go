package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
)

// migrations are the schema's versions, in order: migration i takes the
// schema from version i to i+1. Never edit one that shipped; add the next.
// The SQL is portable between SQLite and PostgreSQL: BIGINT unix ms for
// times, INTEGER 0/1 for booleans, no serial keys.
var migrations = []string{
	// 1: the first schema.
	`CREATE TABLE calls (
		session_id TEXT PRIMARY KEY, room TEXT NOT NULL, participant TEXT NOT NULL, name TEXT NOT NULL,
		node TEXT NOT NULL, region TEXT NOT NULL, joined_at BIGINT NOT NULL, left_at BIGINT NOT NULL,
		token_ms INTEGER NOT NULL, ws_ms INTEGER NOT NULL, ice_ms INTEGER NOT NULL, dtls_ms INTEGER NOT NULL,
		first_frame_ms INTEGER NOT NULL, join_ms INTEGER NOT NULL);
	CREATE INDEX calls_room ON calls (room, joined_at);
	CREATE INDEX calls_joined ON calls (joined_at);
	CREATE TABLE track_samples (
		session_id TEXT NOT NULL, room TEXT NOT NULL, participant TEXT NOT NULL, publisher TEXT NOT NULL,
		track TEXT NOT NULL, kind TEXT NOT NULL, node TEXT NOT NULL, start_ms BIGINT NOT NULL, end_ms BIGINT NOT NULL,
		frames INTEGER NOT NULL, fps DOUBLE PRECISION NOT NULL, freezes INTEGER NOT NULL, freeze_ms INTEGER NOT NULL,
		jitter_buffer_ms DOUBLE PRECISION NOT NULL, packets_lost INTEGER NOT NULL, packets_received INTEGER NOT NULL,
		rtt_ms DOUBLE PRECISION NOT NULL, layer TEXT NOT NULL, width INTEGER NOT NULL, height INTEGER NOT NULL,
		concealed_ms INTEGER NOT NULL, e2e_ms DOUBLE PRECISION NOT NULL, e2e_estimate INTEGER NOT NULL);
	CREATE INDEX track_samples_room ON track_samples (room, end_ms);
	CREATE INDEX track_samples_end ON track_samples (end_ms);
	CREATE TABLE publish_samples (
		session_id TEXT NOT NULL, room TEXT NOT NULL, participant TEXT NOT NULL, track TEXT NOT NULL,
		kind TEXT NOT NULL, node TEXT NOT NULL, start_ms BIGINT NOT NULL, end_ms BIGINT NOT NULL,
		limitation TEXT NOT NULL, fps DOUBLE PRECISION NOT NULL, bitrate_bps DOUBLE PRECISION NOT NULL,
		fraction_lost DOUBLE PRECISION NOT NULL, rtt_ms DOUBLE PRECISION NOT NULL);
	CREATE INDEX publish_samples_room ON publish_samples (room, end_ms);
	CREATE INDEX publish_samples_end ON publish_samples (end_ms);
	CREATE TABLE stalls (
		session_id TEXT NOT NULL, room TEXT NOT NULL, participant TEXT NOT NULL, publisher TEXT NOT NULL,
		track TEXT NOT NULL, kind TEXT NOT NULL, node TEXT NOT NULL, at_ms BIGINT NOT NULL, duration_ms INTEGER NOT NULL);
	CREATE INDEX stalls_room ON stalls (room, at_ms);
	CREATE INDEX stalls_at ON stalls (at_ms);
	CREATE TABLE down_samples (
		node TEXT NOT NULL, room TEXT NOT NULL, participant TEXT NOT NULL, publisher TEXT NOT NULL,
		track TEXT NOT NULL, kind TEXT NOT NULL, start_ms BIGINT NOT NULL, end_ms BIGINT NOT NULL,
		layer TEXT NOT NULL, plis INTEGER NOT NULL, nacks INTEGER NOT NULL,
		estimate_bps DOUBLE PRECISION NOT NULL, loss DOUBLE PRECISION NOT NULL);
	CREATE INDEX down_samples_room ON down_samples (room, end_ms);
	CREATE INDEX down_samples_end ON down_samples (end_ms);
	CREATE TABLE up_samples (
		node TEXT NOT NULL, room TEXT NOT NULL, participant TEXT NOT NULL, track TEXT NOT NULL, kind TEXT NOT NULL,
		start_ms BIGINT NOT NULL, end_ms BIGINT NOT NULL, bitrate_bps DOUBLE PRECISION NOT NULL,
		layers INTEGER NOT NULL, packets INTEGER NOT NULL);
	CREATE INDEX up_samples_room ON up_samples (room, end_ms);
	CREATE INDEX up_samples_end ON up_samples (end_ms);
	CREATE TABLE hop_samples (
		from_node TEXT NOT NULL, to_node TEXT NOT NULL, start_ms BIGINT NOT NULL, end_ms BIGINT NOT NULL,
		up INTEGER NOT NULL, rtt_ms DOUBLE PRECISION NOT NULL, loss DOUBLE PRECISION NOT NULL,
		fec_k INTEGER NOT NULL, fec_m INTEGER NOT NULL, rebuilt INTEGER NOT NULL, retx_bytes BIGINT NOT NULL,
		sent_bytes BIGINT NOT NULL, media_bytes BIGINT NOT NULL, fec_bytes BIGINT NOT NULL, expired INTEGER NOT NULL,
		media_drops INTEGER NOT NULL, bitrate_bps DOUBLE PRECISION NOT NULL, bandwidth_bps DOUBLE PRECISION NOT NULL);
	CREATE INDEX hop_samples_hop ON hop_samples (from_node, to_node, end_ms);
	CREATE INDEX hop_samples_end ON hop_samples (end_ms);
	CREATE TABLE routes (
		node TEXT NOT NULL, room TEXT NOT NULL, origin TEXT NOT NULL, track TEXT NOT NULL, layer INTEGER NOT NULL,
		at_ms BIGINT NOT NULL, path TEXT NOT NULL);
	CREATE INDEX routes_track ON routes (room, track, at_ms);
	CREATE INDEX routes_at ON routes (at_ms);
	CREATE TABLE node_samples (
		node TEXT NOT NULL, region TEXT NOT NULL, start_ms BIGINT NOT NULL, end_ms BIGINT NOT NULL,
		cpu DOUBLE PRECISION NOT NULL, cores INTEGER NOT NULL, drops INTEGER NOT NULL);
	CREATE INDEX node_samples_node ON node_samples (node, end_ms);
	CREATE INDEX node_samples_end ON node_samples (end_ms);
	CREATE TABLE events (
		session_id TEXT NOT NULL, room TEXT NOT NULL, participant TEXT NOT NULL, node TEXT NOT NULL,
		at_ms BIGINT NOT NULL, kind TEXT NOT NULL, detail TEXT NOT NULL);
	CREATE INDEX events_room ON events (room, at_ms);
	CREATE INDEX events_at ON events (at_ms);
	CREATE TABLE alerts (
		node TEXT NOT NULL, at_ms BIGINT NOT NULL, kind TEXT NOT NULL, subject TEXT NOT NULL, state TEXT NOT NULL,
		value DOUBLE PRECISION NOT NULL, threshold DOUBLE PRECISION NOT NULL, message TEXT NOT NULL);
	CREATE INDEX alerts_at ON alerts (at_ms);`,
	// 2: the client's network on calls, for the scheduler's history.
	`ALTER TABLE calls ADD COLUMN network TEXT NOT NULL DEFAULT '';`,
	// 3: the loss a node sees from a publisher, for uplink attribution.
	`ALTER TABLE up_samples ADD COLUMN loss DOUBLE PRECISION NOT NULL DEFAULT 0;`,
	// 4: the longest gap in what a publisher sent, for uplink attribution.
	`ALTER TABLE up_samples ADD COLUMN max_gap_ms INTEGER NOT NULL DEFAULT 0;`,
	// 5: NACKed packets a node resent, for downlink attribution.
	`ALTER TABLE down_samples ADD COLUMN resent INTEGER NOT NULL DEFAULT 0;`,
	// 6, 7: how far the subscriber's receiver reports lagged behind what
	// its node sent, and the round trip the node measured, for downlink
	// attribution.
	`ALTER TABLE down_samples ADD COLUMN ack_lag_ms INTEGER NOT NULL DEFAULT 0;`,
	`ALTER TABLE down_samples ADD COLUMN rtt_ms DOUBLE PRECISION NOT NULL DEFAULT 0;`,
	// 8: a trunk hop's probe timeouts, for attributing a cut link.
	`ALTER TABLE hop_samples ADD COLUMN ptos INTEGER NOT NULL DEFAULT 0;`,
}

// Version is the schema version this code writes.
func Version() int { return len(migrations) }

// migrate brings the schema to Version. Several nodes may open one
// PostgreSQL database at once: the migration runs under an advisory lock
// (SQLite's immediate transaction serializes it there).
func (s *Store) migrate(ctx context.Context) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("store: %s: %w", s, err)
	}
	defer func() { _ = tx.Rollback() }()
	if s.dialect == Postgres {
		if _, err := tx.ExecContext(ctx, "SELECT pg_advisory_xact_lock(7127001)"); err != nil {
			return fmt.Errorf("store: migration lock: %w", err)
		}
	}
	if _, err := tx.ExecContext(ctx, "CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)"); err != nil {
		return fmt.Errorf("store: %s: %w", s, err)
	}
	v := 0
	err = tx.QueryRowContext(ctx, "SELECT version FROM schema_version").Scan(&v)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		if _, err := tx.ExecContext(ctx, "INSERT INTO schema_version (version) VALUES (0)"); err != nil {
			return fmt.Errorf("store: %w", err)
		}
	case err != nil:
		return fmt.Errorf("store: schema version: %w", err)
	}
	if v > len(migrations) {
		return fmt.Errorf("store: %s has schema version %d, newer than this qrtn's %d: upgrade qrtn", s, v, len(migrations))
	}
	for i := v; i < len(migrations); i++ {
		for _, stmt := range strings.Split(migrations[i], ";") {
			if strings.TrimSpace(stmt) == "" {
				continue
			}
			if _, err := tx.ExecContext(ctx, stmt); err != nil {
				return fmt.Errorf("store: migration %d: %w", i+1, err)
			}
		}
		if _, err := tx.ExecContext(ctx, s.rebind("UPDATE schema_version SET version = ?"), i+1); err != nil {
			return fmt.Errorf("store: %w", err)
		}
	}
	return tx.Commit()
}

// SchemaVersion reads the version the database is at.
func (s *Store) SchemaVersion(ctx context.Context) (int, error) {
	v := 0
	err := s.db.QueryRowContext(ctx, "SELECT version FROM schema_version").Scan(&v)
	return v, err
}
