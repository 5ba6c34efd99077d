package store

import (
	"context"
	"database/sql"
	"fmt"
	"reflect"
	"strings"

	"github.com/qrtn/qrtn/qoe"
)

// MaxRows bounds what one query returns: a page or report never loads a
// whole database.
const MaxRows = 100_000

// Query reads records of type T. cond is portable SQL after WHERE, with ?
// placeholders and column names as in schema.go (for example
// "room = ? AND end_ms >= ? ORDER BY end_ms"); empty reads all. At most
// MaxRows rows come back.
func Query[T qoe.Record](ctx context.Context, s *Store, cond string, args ...any) ([]T, error) {
	var zero T
	t, err := s.tables.of(reflect.TypeOf(zero))
	if err != nil {
		return nil, err
	}
	q := fmt.Sprintf("SELECT %s FROM %s", strings.Join(t.cols, ", "), t.name)
	if cond != "" {
		if !strings.HasPrefix(strings.TrimSpace(strings.ToUpper(cond)), "ORDER BY") {
			q += " WHERE"
		}
		q += " " + cond
	}
	if !strings.Contains(strings.ToUpper(cond), " LIMIT ") {
		q += fmt.Sprintf(" LIMIT %d", MaxRows)
	}
	rows, err := s.db.QueryContext(ctx, s.rebind(q), args...)
	if err != nil {
		return nil, fmt.Errorf("store: %s: %w", t.name, err)
	}
	defer rows.Close()
	var out []T
	for rows.Next() {
		var rec T
		v := reflect.ValueOf(&rec).Elem()
		targets, fill := t.scanTargets(v)
		if err := rows.Scan(targets...); err != nil {
			return nil, fmt.Errorf("store: %s: %w", t.name, err)
		}
		if err := fill(); err != nil {
			return nil, err
		}
		out = append(out, rec)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: %s: %w", t.name, err)
	}
	return out, nil
}

// RoomSummary is one room's calls in a time window.
type RoomSummary struct {
	Room         string `json:"room"`
	Calls        int    `json:"calls"`
	Participants int    `json:"participants"`
	First        int64  `json:"first"`
	Last         int64  `json:"last"`
}

// Rooms lists the rooms with calls overlapping [from, to] (unix ms),
// latest first, at most limit.
func (s *Store) Rooms(ctx context.Context, from, to int64, limit int) ([]RoomSummary, error) {
	if limit <= 0 || limit > 1000 {
		limit = 1000
	}
	q := s.rebind(fmt.Sprintf(`SELECT room, COUNT(*), COUNT(DISTINCT participant), MIN(joined_at), MAX(joined_at)
		FROM calls WHERE joined_at <= ? AND (left_at = 0 OR left_at >= ?)
		GROUP BY room ORDER BY MAX(joined_at) DESC LIMIT %d`, limit))
	rows, err := s.db.QueryContext(ctx, q, to, from)
	if err != nil {
		return nil, fmt.Errorf("store: rooms: %w", err)
	}
	defer rows.Close()
	var out []RoomSummary
	for rows.Next() {
		var r RoomSummary
		if err := rows.Scan(&r.Room, &r.Calls, &r.Participants, &r.First, &r.Last); err != nil {
			return nil, fmt.Errorf("store: rooms: %w", err)
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

// Counts returns the rows of every table (for measurements and tests).
func (s *Store) Counts(ctx context.Context) (map[string]int64, error) {
	out := map[string]int64{}
	for _, t := range s.tables {
		var n int64
		if err := s.db.QueryRowContext(ctx, "SELECT COUNT(*) FROM "+t.name).Scan(&n); err != nil {
			return nil, fmt.Errorf("store: count %s: %w", t.name, err)
		}
		out[t.name] = n
	}
	return out, nil
}

// ParticipantHours is the time the ended calls in the store lasted, in
// hours: the denominator of records (and bytes) per participant-hour.
func (s *Store) ParticipantHours(ctx context.Context) (float64, error) {
	var ms sql.NullFloat64
	err := s.db.QueryRowContext(ctx, "SELECT SUM(left_at - joined_at) FROM calls WHERE left_at > 0").Scan(&ms)
	if err != nil {
		return 0, fmt.Errorf("store: participant hours: %w", err)
	}
	return ms.Float64 / 3.6e6, nil
}
