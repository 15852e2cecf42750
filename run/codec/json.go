package codec

import (
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/gitruns/gitruns/run"
)

// AppendJSON appends r as a JSON object, the form `git runs ls --json` prints.
//
// The object has the keys of run.toml in the same order, and every top-level
// key is always present so that scripts need no existence checks: ended,
// exit_code, signal and rerun_of are null when unset, command is [] and env,
// params, tags and metrics are {} when empty. Every key of source but
// skipped is always present, dir "" for the top of the work tree, and every
// key of host, with "", 0 or [] when unknown; gpus is an array of objects
// with name, memory_mib and driver. Params are nested objects as in
// run.toml's tables, with keys sorted; a float param has a point or an
// exponent (1.0, not 1), as in run.toml. Floats that JSON cannot hold are
// written as the strings "NaN", "Infinity" and "-Infinity", as proto3's
// JSON mapping does. The format key is always Format, as with EncodeTOML.
//
// AppendJSON cannot fail: a param value of a non-canonical type is written as
// its NormalizeParam form, or null when it has none, and params that cannot
// nest ("a" and "a.b") are written with the dotted rest of the key as the
// name ({"a": 1, "a.b": 2}).
func AppendJSON(b []byte, r *run.Record) []byte {
	b = append(b, `{"format":`...)
	b = strconv.AppendInt(b, run.Format, 10)
	b = append(b, `,"id":`...)
	b = appendQuoted(b, r.ID, true)
	b = append(b, `,"name":`...)
	b = appendQuoted(b, r.Name, true)
	b = append(b, `,"experiment":`...)
	b = appendQuoted(b, r.Experiment, true)
	b = append(b, `,"status":`...)
	b = appendQuoted(b, string(r.Status), true)
	b = append(b, `,"started":`...)
	b = appendJSONTime(b, r.Started)
	b = append(b, `,"ended":`...)
	if r.Ended.IsZero() {
		b = append(b, "null"...)
	} else {
		b = appendJSONTime(b, r.Ended)
	}
	b = append(b, `,"command":`...)
	b = appendJSONStrings(b, r.Command)
	b = append(b, `,"exit_code":`...)
	if r.ExitCode == nil {
		b = append(b, "null"...)
	} else {
		b = strconv.AppendInt(b, int64(*r.ExitCode), 10)
	}
	if r.Signal == "" && r.RerunOf == "" {
		b = append(b, `,"signal":null,"rerun_of":null`...)
	} else {
		b = append(b, `,"signal":`...)
		b = appendJSONStringOrNull(b, r.Signal)
		b = append(b, `,"rerun_of":`...)
		b = appendJSONStringOrNull(b, r.RerunOf)
	}

	b = append(b, `,"source":{"commit":`...)
	b = appendQuoted(b, r.Source.Commit, true)
	b = append(b, `,"branch":`...)
	b = appendQuoted(b, r.Source.Branch, true)
	b = append(b, `,"dirty":`...)
	b = strconv.AppendBool(b, r.Source.Dirty)
	b = append(b, `,"snapshot":`...)
	b = appendQuoted(b, r.Source.Snapshot, true)
	if len(r.Source.Skipped) > 0 {
		b = append(b, `,"skipped":`...)
		b = appendJSONStrings(b, r.Source.Skipped)
	}
	b = append(b, `,"dir":`...)
	b = appendQuoted(b, r.Source.Dir, true)

	b = append(b, `},"host":{"hostname":`...)
	b = appendQuoted(b, r.Host.Hostname, true)
	b = append(b, `,"user":`...)
	b = appendQuoted(b, r.Host.User, true)
	b = append(b, `,"os":`...)
	b = appendQuoted(b, r.Host.OS, true)
	b = append(b, `,"arch":`...)
	b = appendQuoted(b, r.Host.Arch, true)
	if h := &r.Host; h.CPU == "" && h.CPUs == 0 && h.MemoryMiB == 0 && len(h.GPUs) == 0 &&
		h.Python == "" && h.PythonExecutable == "" && len(h.PythonPackages) == 0 {
		b = append(b, `,"cpu":"","cpus":0,"memory_mib":0,"gpus":[],"python":"","python_executable":"","python_packages":[]`...)
	} else {
		b = appendJSONHostExtras(b, h)
	}

	b = append(b, `},"env":{`...)
	var envBuf [16]entry[string]
	for i, e := range sortedEntries(r.Env, envBuf[:0]) {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendQuoted(b, e.key, true)
		b = append(b, ':')
		b = appendQuoted(b, e.val, true)
	}

	b = append(b, `},"params":`...)
	var paramBuf [32]entry[any]
	b = appendJSONParams(b, sortedParams(r.Params, paramBuf[:0]), 0)

	b = append(b, `,"tags":{`...)
	var tagBuf [16]entry[string]
	for i, t := range sortedEntries(r.Tags, tagBuf[:0]) {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendQuoted(b, t.key, true)
		b = append(b, ':')
		b = appendQuoted(b, t.val, true)
	}

	b = append(b, `},"metrics":{`...)
	var metricBuf [16]entry[run.Summary]
	for i, m := range sortedEntries(r.Metrics, metricBuf[:0]) {
		s := m.val
		if i > 0 {
			b = append(b, ',')
		}
		b = appendQuoted(b, m.key, true)
		b = append(b, `:{"last":`...)
		b = appendJSONFloat(b, s.Last)
		b = append(b, `,"step":`...)
		b = strconv.AppendInt(b, s.Step, 10)
		b = append(b, `,"min":`...)
		b = appendJSONFloat(b, s.Min)
		b = append(b, `,"max":`...)
		b = appendJSONFloat(b, s.Max)
		b = append(b, `,"count":`...)
		b = strconv.AppendInt(b, s.Count, 10)
		if s.Time != 0 {
			b = append(b, `,"time":`...)
			b = strconv.AppendInt(b, s.Time, 10)
		}
		b = append(b, '}')
	}
	return append(b, "}}"...)
}

// AppendHistoryJSON appends h as a JSON object mapping each metric key, in
// sorted order, to its points in logged order:
// {"loss":[{"step":0,"timestamp":1732661539123,"value":0.5}]}. Timestamps are
// Unix milliseconds, and values follow the conventions of AppendJSON.
func AppendHistoryJSON(b []byte, h run.History) []byte {
	b = append(b, '{')
	var keyBuf [32]entry[[]run.Point]
	for i, e := range sortedEntries(h, keyBuf[:0]) {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendQuoted(b, e.key, true)
		b = append(b, ":["...)
		for j, p := range e.val {
			if j > 0 {
				b = append(b, ',')
			}
			b = append(b, `{"step":`...)
			b = strconv.AppendInt(b, p.Step, 10)
			b = append(b, `,"timestamp":`...)
			b = strconv.AppendInt(b, p.Time, 10)
			b = append(b, `,"value":`...)
			b = appendJSONFloat(b, p.Value)
			b = append(b, '}')
		}
		b = append(b, ']')
	}
	return append(b, '}')
}

// appendJSONHostExtras writes the keys of host after arch.
func appendJSONHostExtras(b []byte, h *run.Host) []byte {
	b = append(b, `,"cpu":`...)
	b = appendQuoted(b, h.CPU, true)
	b = append(b, `,"cpus":`...)
	b = strconv.AppendInt(b, int64(h.CPUs), 10)
	b = append(b, `,"memory_mib":`...)
	b = strconv.AppendInt(b, h.MemoryMiB, 10)
	b = append(b, `,"gpus":[`...)
	for i, g := range h.GPUs {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, `{"name":`...)
		b = appendQuoted(b, g.Name, true)
		b = append(b, `,"memory_mib":`...)
		b = strconv.AppendInt(b, g.MemoryMiB, 10)
		b = append(b, `,"driver":`...)
		b = appendQuoted(b, g.Driver, true)
		b = append(b, '}')
	}
	b = append(b, `],"python":`...)
	b = appendQuoted(b, h.Python, true)
	b = append(b, `,"python_executable":`...)
	b = appendQuoted(b, h.PythonExecutable, true)
	b = append(b, `,"python_packages":`...)
	return appendJSONStrings(b, h.PythonPackages)
}

// appendJSONStringOrNull writes s, or null when it is empty.
func appendJSONStringOrNull(b []byte, s string) []byte {
	if s == "" {
		return append(b, "null"...)
	}
	return appendQuoted(b, s, true)
}

func appendJSONTime(b []byte, t time.Time) []byte {
	b = append(b, '"')
	b = appendTime(b, t)
	return append(b, '"')
}

func appendJSONStrings(b []byte, a []string) []byte {
	b = append(b, '[')
	for i, s := range a {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendQuoted(b, s, true)
	}
	return append(b, ']')
}

func appendJSONFloat(b []byte, f float64) []byte {
	switch {
	case f != f:
		return append(b, `"NaN"`...)
	case math.IsInf(f, 1):
		return append(b, `"Infinity"`...)
	case math.IsInf(f, -1):
		return append(b, `"-Infinity"`...)
	}
	return appendFloat(b, f)
}

// appendJSONParams writes params, whose keys all share their first p bytes,
// as one object. They are in the order of run.CompareParamKeys, which keeps the
// keys of each nested object together.
func appendJSONParams(b []byte, params []entry[any], p int) []byte {
	b = append(b, '{')
	for i := 0; i < len(params); {
		if i > 0 {
			b = append(b, ',')
		}
		rest := params[i].key[p:]
		dot := strings.IndexByte(rest, '.')
		if dot < 0 {
			b = appendQuoted(b, rest, true)
			b = append(b, ':')
			b = appendJSONValue(b, params[i].val, 0)
			i++
			// Keys inside a table of the same name as this value cannot
			// nest; they follow directly in key order.
			for i < len(params) && run.InParamTable(params[i].key[p:], rest) {
				b = append(b, ',')
				b = appendQuoted(b, params[i].key[p:], true)
				b = append(b, ':')
				b = appendJSONValue(b, params[i].val, 0)
				i++
			}
			continue
		}
		seg := rest[:dot]
		j := i + 1
		for j < len(params) && run.InParamTable(params[j].key[p:], seg) {
			j++
		}
		b = appendQuoted(b, seg, true)
		b = append(b, ':')
		b = appendJSONParams(b, params[i:j], p+dot+1)
		i = j
	}
	return append(b, '}')
}

func appendJSONValue(b []byte, v any, depth int) []byte {
	switch v := v.(type) {
	case int64:
		return strconv.AppendInt(b, v, 10)
	case float64:
		// A float param keeps its point, as in run.toml: lr=1.0 was
		// given (or imported from MLflow) as 1.0, and a reader that
		// tells integers from floats (Python's json) should see 1.0.
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return appendJSONFloat(b, v)
		}
		return appendTOMLFloat(b, v)
	case bool:
		return strconv.AppendBool(b, v)
	case string:
		return appendQuoted(b, v, true)
	case []any:
		if depth >= run.MaxParamDepth {
			return append(b, "null"...)
		}
		b = append(b, '[')
		for i, x := range v {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendJSONValue(b, x, depth+1)
		}
		return append(b, ']')
	}
	if n, err := run.NormalizeParam("", v); err == nil {
		return appendJSONValue(b, n, depth)
	}
	return append(b, "null"...)
}
