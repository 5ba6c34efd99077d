package store

import (
	"context"
	"fmt"
	"reflect"
	"strings"

	"github.com/qrtn/qrtn/qoe"
)

// rowsPerInsert bounds one INSERT's rows (SQLite allows 32766 parameters,
// PostgreSQL 65535; a row has at most 23 columns).
const rowsPerInsert = 200

// Write stores records in one transaction: all or none. A call whose
// session is already stored replaces the old row (a call is written when
// it starts, when its join timings arrive and when it ends).
func (s *Store) Write(ctx context.Context, recs []qoe.Record) error {
	if len(recs) == 0 {
		return nil
	}
	groups := map[*table][]reflect.Value{}
	var order []*table
	for _, r := range recs {
		v := reflect.ValueOf(r)
		t, err := s.tables.of(v.Type())
		if err != nil {
			return err
		}
		if _, ok := groups[t]; !ok {
			order = append(order, t)
		}
		groups[t] = append(groups[t], v)
	}
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("store: %w", err)
	}
	defer func() { _ = tx.Rollback() }()
	for _, t := range order {
		rows := groups[t]
		if t.key != "" {
			rows = lastPerKey(t, rows)
		}
		for len(rows) > 0 {
			n := min(len(rows), rowsPerInsert)
			q, args := s.insertSQL(t, rows[:n])
			if _, err := tx.ExecContext(ctx, q, args...); err != nil {
				return fmt.Errorf("store: insert into %s: %w", t.name, err)
			}
			rows = rows[n:]
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("store: commit: %w", err)
	}
	return nil
}

// insertSQL builds one multi-row INSERT (an upsert for keyed tables).
func (s *Store) insertSQL(t *table, rows []reflect.Value) (string, []any) {
	var b strings.Builder
	b.WriteString(t.insert)
	one := "(" + strings.TrimSuffix(strings.Repeat("?, ", len(t.cols)), ", ") + ")"
	args := make([]any, 0, len(rows)*len(t.cols))
	for i, r := range rows {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(one)
		args = t.args(args, r)
	}
	if t.key != "" {
		fmt.Fprintf(&b, " ON CONFLICT (%s) DO UPDATE SET ", t.key)
		first := true
		for _, c := range t.cols {
			if c == t.key {
				continue
			}
			if !first {
				b.WriteString(", ")
			}
			first = false
			fmt.Fprintf(&b, "%s = excluded.%s", c, c)
		}
	}
	return s.rebind(b.String()), args
}

// lastPerKey keeps the last row of each key, in first-seen order: one
// statement may not touch a row twice.
func lastPerKey(t *table, rows []reflect.Value) []reflect.Value {
	ki := -1
	for j, c := range t.cols {
		if c == t.key {
			ki = t.fields[j]
		}
	}
	pos := map[string]int{}
	out := rows[:0:0]
	for _, r := range rows {
		k := r.Field(ki).String()
		if i, ok := pos[k]; ok {
			out[i] = r
			continue
		}
		pos[k] = len(out)
		out = append(out, r)
	}
	return out
}

// prunable: each table's time column for retention.
var prunable = []struct{ table, col string }{
	{"track_samples", "end_ms"}, {"publish_samples", "end_ms"}, {"stalls", "at_ms"}, {"down_samples", "end_ms"},
	{"up_samples", "end_ms"}, {"hop_samples", "end_ms"}, {"routes", "at_ms"}, {"node_samples", "end_ms"},
	{"events", "at_ms"}, {"alerts", "at_ms"},
}

// Prune deletes records older than before (unix ms), and calls that ended
// before it. It returns how many rows went.
func (s *Store) Prune(ctx context.Context, before int64) (int64, error) {
	var total int64
	for _, p := range prunable {
		res, err := s.db.ExecContext(ctx, s.rebind(fmt.Sprintf("DELETE FROM %s WHERE %s < ?", p.table, p.col)), before)
		if err != nil {
			return total, fmt.Errorf("store: prune %s: %w", p.table, err)
		}
		n, _ := res.RowsAffected()
		total += n
	}
	res, err := s.db.ExecContext(ctx, s.rebind("DELETE FROM calls WHERE left_at > 0 AND left_at < ?"), before)
	if err != nil {
		return total, fmt.Errorf("store: prune calls: %w", err)
	}
	n, _ := res.RowsAffected()
	return total + n, nil
}
