package wandb

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/gitruns/gitruns/run"
	"github.com/gitruns/gitruns/run/importer"
	"github.com/gitruns/gitruns/run/mlflowtags"
)

// wrun is what the files of one W&B run directory say.
type wrun struct {
	params     map[string]string
	summary    map[string]any
	history    map[string][]run.Point
	logHistory bool // the history came from the record log

	program, user, host, commit, remote string
	args                                []string
	started                             time.Time

	// from the record log's run and exit records
	name, project, entity, group, jobType, notes string
	tags                                         []string
	exited                                       *int64
	runtime                                      float64
}

// config reads files/config.yaml: each key's value: sub-key, flattened
// into dotted params; _wandb and wandb_version are W&B's own.
func (w *wrun) readConfig(files string) error {
	data, err := readBounded(filepath.Join(files, "config.yaml"), maxSmallFile)
	if err != nil {
		return err
	}
	doc, err := readYAML(string(data))
	if err != nil {
		return err
	}
	if doc.kind != 'm' {
		return errors.New("not a mapping of config keys")
	}
	w.params = map[string]string{}
	for _, k := range doc.keys {
		if k == "_wandb" || k == "wandb_version" {
			continue
		}
		v := doc.m[k]
		if v.kind == 'm' {
			if val, ok := v.m["value"]; ok {
				v = val
			}
		}
		flattenYAML(w.params, k, v)
	}
	return nil
}

// flattenYAML sets the params of key k from v: a mapping's keys below k
// with dots, a sequence as a JSON list, a scalar as its text.
func flattenYAML(out map[string]string, k string, v *ynode) {
	switch v.kind {
	case 'm':
		if len(v.keys) == 0 {
			out[k] = "{}"
		}
		for _, sub := range v.keys {
			flattenYAML(out, k+"."+sub, v.m[sub])
		}
	case 'l':
		out[k] = string(yamlJSON(v))
	default:
		out[k] = v.text
	}
}

// yamlJSON writes v as JSON, its plain scalars as numbers, booleans and
// nulls where they read as such.
func yamlJSON(v *ynode) []byte {
	switch v.kind {
	case 'l':
		parts := make([]string, len(v.list))
		for i, e := range v.list {
			parts[i] = string(yamlJSON(e))
		}
		return []byte("[" + strings.Join(parts, ", ") + "]")
	case 'm':
		parts := make([]string, len(v.keys))
		for i, k := range v.keys {
			kj, _ := json.Marshal(k)
			parts[i] = string(kj) + ": " + string(yamlJSON(v.m[k]))
		}
		return []byte("{" + strings.Join(parts, ", ") + "}")
	}
	if !v.quoted {
		switch v.text {
		case "null", "~", "true", "false":
			return []byte(strings.Replace(v.text, "~", "null", 1))
		}
		if _, err := strconv.ParseFloat(v.text, 64); err == nil && json.Valid([]byte(v.text)) {
			return []byte(v.text)
		}
	}
	b, _ := json.Marshal(v.text)
	return b
}

// summary reads files/wandb-summary.json.
func (w *wrun) readSummary(files string) error {
	data, err := readBounded(filepath.Join(files, "wandb-summary.json"), maxSmallFile)
	if err != nil {
		return err
	}
	var m map[string]any
	if err := decodeJSON(data, &m); err != nil {
		return err
	}
	w.summary = m
	if rt, ok := number(m["_runtime"]); ok {
		w.runtime = rt
	}
	return nil
}

// metadata reads files/wandb-metadata.json.
func (w *wrun) readMetadata(files string) error {
	data, err := readBounded(filepath.Join(files, "wandb-metadata.json"), maxSmallFile)
	if err != nil {
		return err
	}
	var md struct {
		Program   string   `json:"program"`
		CodePath  string   `json:"codePath"`
		Args      []string `json:"args"`
		Host      string   `json:"host"`
		Username  string   `json:"username"`
		StartedAt string   `json:"startedAt"`
		Git       struct {
			Commit string `json:"commit"`
			Remote string `json:"remote"`
		} `json:"git"`
	}
	if err := decodeJSON(data, &md); err != nil {
		return err
	}
	w.program, w.args, w.host, w.user = md.Program, md.Args, md.Host, md.Username
	if w.program == "" {
		w.program = md.CodePath
	}
	w.commit, w.remote = md.Git.Commit, md.Git.Remote
	if md.StartedAt != "" {
		// W&B writes UTC, with or without a Z.
		t, err := time.Parse(time.RFC3339Nano, md.StartedAt)
		if err != nil {
			t, err = time.ParseInLocation("2006-01-02T15:04:05.999999", md.StartedAt, time.UTC)
		}
		if err != nil {
			return fmt.Errorf("startedAt %q is not a time", md.StartedAt)
		}
		w.started = t
	}
	return nil
}

// historyFile reads files/wandb-history.jsonl, and tells whether it was
// there; a bad line is an error after the lines before it.
func (w *wrun) historyFile(files string) (bool, error) {
	f, err := openBounded(filepath.Join(files, "wandb-history.jsonl"), maxDataFile)
	if err != nil {
		return false, err
	}
	defer f.Close()
	w.history = map[string][]run.Point{}
	br := bufio.NewReaderSize(f, 64<<10)
	for n := 1; ; n++ {
		line, err := br.ReadBytes('\n')
		if len(bytes.TrimSpace(line)) > 0 {
			var row map[string]any
			if derr := decodeJSON(line, &row); derr != nil {
				return true, fmt.Errorf("line %d: %v (the lines after it left out)", n, derr)
			}
			w.addRow(row, -1)
		}
		if err == io.EOF {
			return true, nil
		}
		if err != nil {
			return true, err
		}
	}
}

// addRow adds the numbers of one history row at its _step (or step when
// the row has none) and _timestamp.
func (w *wrun) addRow(row map[string]any, step int64) {
	if s, ok := number(row["_step"]); ok {
		step = int64(s)
	}
	var ts int64
	if t, ok := number(row["_timestamp"]); ok {
		ts = int64(math.Round(t * 1000))
	}
	flat := map[string]float64{}
	flattenNumbers(flat, "", row)
	for _, k := range slices.Sorted(maps.Keys(flat)) {
		w.history[k] = append(w.history[k], run.Point{Step: step, Time: ts, Value: flat[k]})
	}
}

// flattenNumbers sets the numbers of m below prefix, nested dicts'
// keys joined by "."; W&B's own keys (_step, _runtime, _timestamp,
// _wandb) and media (dicts with a _type) are no metrics.
func flattenNumbers(out map[string]float64, prefix string, m map[string]any) {
	if _, media := m["_type"]; media {
		return
	}
	for k, v := range m {
		if strings.HasPrefix(k, "_") {
			continue
		}
		if sub, ok := v.(map[string]any); ok {
			flattenNumbers(out, prefix+k+".", sub)
			continue
		}
		if f, ok := number(v); ok {
			out[prefix+k] = f
		}
	}
}

// summaryPoints makes a point of each number of the summary, at its step
// and time: all there is of a run whose history is unreadable.
func (w *wrun) summaryPoints() {
	w.history = map[string][]run.Point{}
	if w.summary != nil {
		w.addRow(w.summary, 0)
	}
}

// fill sets what r lacks from w.
func (w *wrun) fill(r *importer.Run) {
	r.Name = w.name
	r.Experiment, r.ExperimentID = w.project, w.project
	if !w.started.IsZero() {
		r.Start = w.started
	}
	r.User = w.user
	maps.Copy(r.Params, w.params)
	r.Metrics = w.history
	set := func(k, v string) {
		if v != "" {
			r.Tags[k] = v
		}
	}
	set(TagProject, w.project)
	set(TagEntity, w.entity)
	set(TagGroup, w.group)
	set(TagJobType, w.jobType)
	set(TagNotes, w.notes)
	set(TagTags, strings.Join(w.tags, ", "))
	set(TagHost, w.host)
	set(mlflowtags.SourceName, w.program)
	set(mlflowtags.Commit, w.commit)
	set("mlflow.source.git.repoURL", w.remote)
	set(mlflowtags.User, w.user)
	if len(w.args) > 0 {
		b, _ := json.Marshal(w.args)
		r.Tags[TagArgs] = string(b)
	}
	if w.exited != nil {
		r.Status = run.Finished
		if *w.exited != 0 {
			r.Status = run.Failed
		}
	}
	if w.runtime > 0 && w.runtime < 1e9 {
		r.End = r.Start.Add(time.Duration(w.runtime * float64(time.Second)))
	}
}

// nonFinite are the marks decodeJSON puts for Python's bare NaN and
// infinities, which JSON has not: strings no W&B value holds.
const (
	markNaN    = "\x00NaN"
	markInf    = "\x00Infinity"
	markNegInf = "\x00-Infinity"
)

// decodeJSON decodes Python's JSON (which writes NaN, Infinity and
// -Infinity bare) into v, numbers as json.Number.
func decodeJSON(data []byte, v any) error {
	data = markNonFinite(data)
	d := json.NewDecoder(bytes.NewReader(data))
	d.UseNumber()
	if err := d.Decode(v); err != nil {
		return fmt.Errorf("not JSON: %v", err)
	}
	return nil
}

// markNonFinite rewrites the bare NaN, Infinity and -Infinity outside
// strings of data as the marks above.
func markNonFinite(data []byte) []byte {
	if !bytes.Contains(data, []byte("NaN")) && !bytes.Contains(data, []byte("Infinity")) {
		return data
	}
	var out []byte
	in := false
	for i := 0; i < len(data); i++ {
		c := data[i]
		if in {
			out = append(out, c)
			if c == '\\' && i+1 < len(data) {
				i++
				out = append(out, data[i])
			} else if c == '"' {
				in = false
			}
			continue
		}
		rest := data[i:]
		switch {
		case c == '"':
			in = true
		case bytes.HasPrefix(rest, []byte("NaN")):
			out, i = append(out, `"\u0000NaN"`...), i+2
			continue
		case bytes.HasPrefix(rest, []byte("-Infinity")):
			out, i = append(out, `"\u0000-Infinity"`...), i+8
			continue
		case bytes.HasPrefix(rest, []byte("Infinity")):
			out, i = append(out, `"\u0000Infinity"`...), i+7
			continue
		}
		out = append(out, c)
	}
	return out
}

// number is v as a metric value: a JSON number or a non-finite mark.
func number(v any) (float64, bool) {
	switch x := v.(type) {
	case json.Number:
		f, err := strconv.ParseFloat(string(x), 64)
		return f, err == nil
	case float64:
		return x, true
	case string:
		switch x {
		case markNaN:
			return math.NaN(), true
		case markInf:
			return math.Inf(1), true
		case markNegInf:
			return math.Inf(-1), true
		}
	}
	return 0, false
}

// readBounded reads the regular file at path, not through a symbolic
// link, refusing one longer than limit.
func readBounded(path string, limit int64) ([]byte, error) {
	f, err := openBounded(path, limit)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return io.ReadAll(io.LimitReader(f, limit))
}

func openBounded(path string, limit int64) (*os.File, error) {
	f, err := os.OpenFile(path, os.O_RDONLY|oNoFollow, 0)
	if err != nil {
		return nil, err
	}
	fi, err := f.Stat()
	if err == nil && !fi.Mode().IsRegular() {
		err = errors.New("not a regular file")
	}
	if err == nil && fi.Size() > limit {
		err = fmt.Errorf("larger than %s", run.FormatSize(limit))
	}
	if err != nil {
		f.Close()
		return nil, err
	}
	return f, nil
}
