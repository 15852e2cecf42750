package wandb

import (
	"bufio"
	"encoding/json"

	"fmt"
	"maps"
	"slices"
	"strconv"
	"time"

	"github.com/gitruns/gitruns/run"
)

// recordLog reads the run's record log at path: its run record (name,
// project, tags, start, git), exit record, config and summary where
// the plain files had none, and, when history is set, every history
// record. A damaged log keeps what was read before the damage.
func (w *wrun) recordLog(path string, history bool) error {
	f, err := openBounded(path, maxDataFile)
	if err != nil {
		return err
	}
	defer f.Close()
	var config map[string]any
	summary := map[string]any{}
	if history {
		w.history = nil
	}
	err = readLogFrom(bufio.NewReaderSize(f, 64<<10), func(rec []byte) error {
		fs, err := fields(rec)
		if err != nil {
			return fmt.Errorf("a record: %v", err)
		}
		for _, f := range fs {
			if f.wire != 2 {
				continue
			}
			switch f.num {
			case recHistory:
				if history {
					err = w.historyRecord(f.bytes)
				}
			case recSummary:
				err = applyItems(summary, f.bytes)
			case recConfig:
				if config == nil {
					config = map[string]any{}
				}
				err = applyItems(config, f.bytes)
			case recRun:
				err = w.runRecord(f.bytes, &config)
			case recExit:
				err = w.exitRecord(f.bytes)
			}
			if err != nil {
				return err
			}
		}
		return nil
	})
	if w.params == nil && config != nil {
		w.params = map[string]string{}
		for _, k := range slices.Sorted(maps.Keys(config)) {
			if k == "_wandb" || k == "wandb_version" {
				continue
			}
			v := config[k]
			if m, ok := v.(map[string]any); ok {
				if val, ok := wrapped(m); ok {
					v = val
				}
			}
			flattenJSON(w.params, k, v)
		}
	}
	if w.summary == nil && len(summary) > 0 {
		w.summary = summary
		if rt, ok := number(summary["_runtime"]); ok && w.runtime == 0 {
			w.runtime = rt
		}
	}
	if history && w.history != nil {
		w.logHistory = true
	}
	return err
}

// historyRecord adds a HistoryRecord's row.
func (w *wrun) historyRecord(b []byte) error {
	row := map[string]any{}
	if err := applyItems(row, b); err != nil {
		return err
	}
	step := int64(-1)
	fs, _ := fields(b)
	for _, f := range fs {
		if f.num == 2 && f.wire == 2 { // HistoryStep
			sf, err := fields(f.bytes)
			if err != nil {
				return fmt.Errorf("a history step: %v", err)
			}
			for _, s := range sf {
				if s.num == 1 && s.wire == 0 {
					step = int64(s.v)
				}
			}
		}
	}
	if w.history == nil {
		w.history = map[string][]run.Point{}
	}
	w.addRow(row, step)
	return nil
}

// applyItems sets (field 1) and removes (field 2) the items of a
// ConfigRecord, SummaryRecord or HistoryRecord on m, values decoded.
func applyItems(m map[string]any, b []byte) error {
	up, err := items(b, 1)
	if err != nil {
		return fmt.Errorf("an item: %v", err)
	}
	for _, it := range up {
		var v any
		if err := decodeJSON([]byte(it.valueJSON), &v); err != nil {
			return fmt.Errorf("item %q: %v", it.key, err)
		}
		m[it.key] = v
	}
	rm, err := items(b, 2)
	if err != nil {
		return fmt.Errorf("an item: %v", err)
	}
	for _, it := range rm {
		delete(m, it.key)
	}
	return nil
}

// runRecord reads a RunRecord: who, where and when the run is, and the
// config it started with.
func (w *wrun) runRecord(b []byte, config *map[string]any) error {
	fs, err := fields(b)
	if err != nil {
		return fmt.Errorf("the run record: %v", err)
	}
	for _, f := range fs {
		s := string(f.bytes)
		switch f.num {
		case runDisplayName:
			w.name = s
		case runProject:
			w.project = s
		case runEntity:
			w.entity = s
		case runGroup:
			w.group = s
		case runJobType:
			w.jobType = s
		case runNotes:
			w.notes = s
		case runTags:
			w.tags = append(w.tags, s)
		case runHost:
			if w.host == "" {
				w.host = s
			}
		case runConfig:
			if *config == nil {
				*config = map[string]any{}
			}
			if err := applyItems(*config, f.bytes); err != nil {
				return err
			}
		case runStartTime:
			ts, err := fields(f.bytes)
			if err != nil {
				return fmt.Errorf("the run's start time: %v", err)
			}
			var sec, nsec int64
			for _, t := range ts {
				switch t.num {
				case 1:
					sec = int64(t.v)
				case 2:
					nsec = int64(t.v)
				}
			}
			if w.started.IsZero() && sec > 0 {
				w.started = time.Unix(sec, nsec).UTC()
			}
		case runGit:
			gs, err := fields(f.bytes)
			if err != nil {
				return fmt.Errorf("the run's git record: %v", err)
			}
			for _, g := range gs {
				switch {
				case g.num == 1 && w.remote == "":
					w.remote = string(g.bytes)
				case g.num == 2 && w.commit == "":
					w.commit = string(g.bytes)
				}
			}
		}
	}
	return nil
}

// exitRecord reads a RunExitRecord: the exit code and runtime.
func (w *wrun) exitRecord(b []byte) error {
	fs, err := fields(b)
	if err != nil {
		return fmt.Errorf("the exit record: %v", err)
	}
	code := int64(0)
	for _, f := range fs {
		switch f.num {
		case exitCode:
			code = int64(int32(f.v)) // int32, sign-extended on the wire
		case exitRuntime:
			if rt := float64(int32(f.v)); rt > 0 && w.runtime == 0 {
				w.runtime = rt
			}
		}
	}
	w.exited = &code
	return nil
}

// flattenJSON sets the params of key k from a decoded JSON value: an
// object's keys below k with dots, a list as JSON, a scalar as its text.
func flattenJSON(out map[string]string, k string, v any) {
	switch x := v.(type) {
	case map[string]any:
		if len(x) == 0 {
			out[k] = "{}"
		}
		for _, sub := range slices.Sorted(maps.Keys(x)) {
			flattenJSON(out, k+"."+sub, x[sub])
		}
	case string:
		if f, ok := number(x); ok {
			out[k] = strconv.FormatFloat(f, 'g', -1, 64)
		} else {
			out[k] = x
		}
	case nil:
		out[k] = "null"
	default:
		out[k] = string(pyJSON(nil, x))
	}
}

// pyJSON appends v as Python's json.dumps writes it, with ", " and ": "
// between items, as W&B and MLflow show a list param.
func pyJSON(b []byte, v any) []byte {
	switch x := v.(type) {
	case []any:
		b = append(b, '[')
		for i, e := range x {
			if i > 0 {
				b = append(b, ", "...)
			}
			b = pyJSON(b, e)
		}
		return append(b, ']')
	case map[string]any:
		b = append(b, '{')
		for i, k := range slices.Sorted(maps.Keys(x)) {
			if i > 0 {
				b = append(b, ", "...)
			}
			kj, _ := json.Marshal(k)
			b = append(append(b, kj...), ": "...)
			b = pyJSON(b, x[k])
		}
		return append(b, '}')
	case string:
		if _, ok := number(x); ok {
			return append(b, x[1:]...) // NaN, Infinity, -Infinity as Python writes them
		}
	}
	j, err := json.Marshal(v)
	if err != nil {
		return fmt.Append(b, v)
	}
	return append(b, j...)
}

// wrapped is the value of {"value": v} or {"desc": ..., "value": v}, as
// W&B's consolidated config wraps each key's value.
func wrapped(m map[string]any) (any, bool) {
	v, ok := m["value"]
	if !ok {
		return nil, false
	}
	_, desc := m["desc"]
	return v, len(m) == 1 || len(m) == 2 && desc
}
