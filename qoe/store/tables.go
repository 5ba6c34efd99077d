package store

import (
	"encoding/json"
	"fmt"
	"reflect"
	"strings"

	"github.com/qrtn/qrtn/qoe"
)

// table maps one record type onto its table: a column per field, named
// by the field's JSON name (renamed where SQL reserves the word).
type table struct {
	name   string
	typ    reflect.Type
	cols   []string
	fields []int
	insert string // INSERT … VALUES with one row of placeholders
	// upsert: the key column; a row with the same key replaces the old.
	key string
}

// renames are JSON names that SQL reserves.
var renames = map[string]string{"session": "session_id", "start": "start_ms", "end": "end_ms", "at": "at_ms",
	"from": "from_node", "to": "to_node"}

// tableSet is every record type's table; built once, read-only after.
type tableSet map[reflect.Type]*table

func newTableSet() tableSet {
	ts := tableSet{}
	for _, x := range []struct {
		rec  qoe.Record
		name string
		key  string
	}{
		{qoe.Call{}, "calls", "session_id"}, {qoe.TrackSample{}, "track_samples", ""},
		{qoe.PublishSample{}, "publish_samples", ""}, {qoe.Stall{}, "stalls", ""},
		{qoe.DownSample{}, "down_samples", ""}, {qoe.UpSample{}, "up_samples", ""},
		{qoe.HopSample{}, "hop_samples", ""}, {qoe.Route{}, "routes", ""},
		{qoe.NodeSample{}, "node_samples", ""}, {qoe.Event{}, "events", ""}, {qoe.Alert{}, "alerts", ""},
	} {
		t := &table{name: x.name, typ: reflect.TypeOf(x.rec), key: x.key}
		for i := range t.typ.NumField() {
			tag := strings.Split(t.typ.Field(i).Tag.Get("json"), ",")[0]
			if tag == "" || tag == "-" {
				continue
			}
			if r, ok := renames[tag]; ok {
				tag = r
			}
			t.cols = append(t.cols, tag)
			t.fields = append(t.fields, i)
		}
		t.insert = fmt.Sprintf("INSERT INTO %s (%s) VALUES ", t.name, strings.Join(t.cols, ", "))
		ts[t.typ] = t
	}
	return ts
}

// of returns the table of a record type.
func (ts tableSet) of(typ reflect.Type) (*table, error) {
	t, ok := ts[typ]
	if !ok {
		return nil, fmt.Errorf("store: no table for %v", typ)
	}
	return t, nil
}

// args appends a record's column values.
func (t *table) args(dst []any, rec reflect.Value) []any {
	for _, i := range t.fields {
		f := rec.Field(i)
		switch f.Kind() {
		case reflect.Bool:
			v := 0
			if f.Bool() {
				v = 1
			}
			dst = append(dst, v)
		case reflect.Int, reflect.Int64:
			dst = append(dst, f.Int())
		case reflect.Float64:
			dst = append(dst, f.Float())
		case reflect.String:
			dst = append(dst, f.String())
		case reflect.Slice: // []string, as JSON
			b, _ := json.Marshal(f.Interface())
			dst = append(dst, string(b))
		default:
			panic(fmt.Sprintf("store: field kind %v of %v has no column type", f.Kind(), t.typ)) // a defect of this file
		}
	}
	return dst
}

// scanTargets returns pointers a row scans into, and a function that
// copies them into rec.
func (t *table) scanTargets(rec reflect.Value) ([]any, func() error) {
	targets := make([]any, len(t.fields))
	for j, i := range t.fields {
		switch rec.Field(i).Kind() {
		case reflect.Bool, reflect.Int, reflect.Int64:
			targets[j] = new(int64)
		case reflect.Float64:
			targets[j] = new(float64)
		default:
			targets[j] = new(string)
		}
	}
	return targets, func() error {
		for j, i := range t.fields {
			f := rec.Field(i)
			switch f.Kind() {
			case reflect.Bool:
				f.SetBool(*targets[j].(*int64) != 0)
			case reflect.Int, reflect.Int64:
				f.SetInt(*targets[j].(*int64))
			case reflect.Float64:
				f.SetFloat(*targets[j].(*float64))
			case reflect.String:
				f.SetString(*targets[j].(*string))
			case reflect.Slice:
				if err := json.Unmarshal([]byte(*targets[j].(*string)), f.Addr().Interface()); err != nil {
					return fmt.Errorf("store: %s.%s: %w", t.name, t.cols[j], err)
				}
			}
		}
		return nil
	}
}
