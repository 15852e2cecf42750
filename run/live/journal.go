package live

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/BurntSushi/toml"
	"github.com/gitruns/gitruns/run"
	"github.com/gitruns/gitruns/run/outlog"
)

// The journal is the live log of a run: one file, appended to by every
// process that logs into the run, replayed to build each commit. It is the
// single source of truth while the run lives, so a process that dies loses
// only what it had not yet handed to write(2).
//
// Each entry is one line, written with a single write on a file opened with
// O_APPEND, so entries from several processes interleave whole. The first
// field names the entry:
//
//	S <json>                       start: the run's fixed fields and its owner
//	P <key> <toml value>           param
//	p <key> <toml value>           default param: any P for the key replaces it
//	T <key> <json string>          tag
//	M <key> <step> <ms> <value>    metric point
//	A <path> <blob> <mode>         artifact already stored as a blob
//	H <json>                       facts about the host learnt after the start
//	X <ms> <status> <exit code> [<signal>]   end ("-" for no exit code)
//
// Fields are separated by tabs; keys cannot contain tabs or newlines. A line
// that does not parse (a torn write, say) is skipped, never fatal.

// Owner identifies the process whose death means the run crashed.
type Owner struct {
	PID   int    `json:"pid"`
	Start uint64 `json:"start,omitempty"` // process start time, to tell a reused pid apart
	Host  string `json:"host"`
}

type startEntry struct {
	ID         string            `json:"id"`
	Name       string            `json:"name"`
	Experiment string            `json:"experiment"`
	Started    int64             `json:"started"`
	Command    []string          `json:"command,omitempty"`
	Source     run.Source        `json:"source"`
	Host       run.Host          `json:"host"`
	Owner      Owner             `json:"owner"`
	Checkpoint int64             `json:"checkpoint_ms"`
	Env        map[string]string `json:"env,omitempty"`
	RerunOf    string            `json:"rerun_of,omitempty"`
	// Output tells that the command's output is kept in the files next
	// to the journal (see OutputPrefix).
	Output      bool  `json:"output,omitempty"`
	OutputLimit int64 `json:"output_limit,omitempty"`
}

// state is what replaying a journal yields.
type state struct {
	rec        run.Record
	series     map[string]*[]run.Point // the history, by key; pointers so that a point is added with one map lookup
	parsed     map[string]*[]run.Point // points read from the command's output (m entries), used for keys with no series
	arts       map[string]run.Artifact
	soft       map[string]bool   // params set by a default (p) entry
	keys       map[string]string // metric keys, interned
	next       map[string]int64  // next automatic step per metric key
	output     bool
	outLimit   int64
	owner      Owner
	checkpoint time.Duration
	started    bool
	ended      bool
	last       int64 // newest timestamp seen, Unix ms
}

func newState() *state {
	return &state{
		rec:    run.Record{Format: run.Format, Params: map[string]any{}, Tags: map[string]string{}, Metrics: map[string]run.Summary{}},
		series: map[string]*[]run.Point{},
		parsed: map[string]*[]run.Point{},
		arts:   map[string]run.Artifact{},
		soft:   map[string]bool{},
		keys:   map[string]string{},
		next:   map[string]int64{},
	}
}

func appendStart(b []byte, e *startEntry) []byte {
	j, err := json.Marshal(e)
	if err != nil {
		panic(err) // only plain strings and numbers: cannot fail
	}
	b = append(b, "S\t"...)
	b = append(b, j...)
	return append(b, '\n')
}

func appendParam(b []byte, key string, v any, soft bool) ([]byte, error) {
	lit, err := tomlLiteral(v)
	if err != nil {
		return b, err
	}
	if soft {
		b = append(b, "p\t"...)
	} else {
		b = append(b, "P\t"...)
	}
	b = append(b, key...)
	b = append(b, '\t')
	b = append(b, lit...)
	return append(b, '\n'), nil
}

func appendTag(b []byte, key, v string) []byte {
	j, _ := json.Marshal(v)
	b = append(b, "T\t"...)
	b = append(b, key...)
	b = append(b, '\t')
	b = append(b, j...)
	return append(b, '\n')
}

// appendMetric appends a metric entry: M for a point logged by the
// program, m for one read from its output.
func appendMetric(b []byte, parsed bool, key string, step, ms int64, v float64) []byte {
	if parsed {
		b = append(b, "m\t"...)
	} else {
		b = append(b, "M\t"...)
	}
	b = append(b, key...)
	b = append(b, '\t')
	b = strconv.AppendInt(b, step, 10)
	b = append(b, '\t')
	b = strconv.AppendInt(b, ms, 10)
	b = append(b, '\t')
	b = run.AppendFloat(b, v)
	return append(b, '\n')
}

func appendArtifact(b []byte, a run.Artifact) []byte {
	mode := "644"
	if a.Exec {
		mode = "755"
	}
	b = append(b, "A\t"...)
	b = append(b, a.Path...)
	b = append(b, '\t')
	b = append(b, a.Blob...)
	b = append(b, '\t')
	b = append(b, mode...)
	return append(b, '\n')
}

func appendHost(b []byte, h run.Host) []byte {
	j, err := json.Marshal(h)
	if err != nil {
		panic(err) // plain strings and numbers: cannot fail
	}
	b = append(b, "H\t"...)
	b = append(b, j...)
	return append(b, '\n')
}

func appendEnd(b []byte, ms int64, s run.Status, code *int, signal string) []byte {
	b = append(b, "X\t"...)
	b = strconv.AppendInt(b, ms, 10)
	b = append(b, '\t')
	b = append(b, s...)
	b = append(b, '\t')
	if code == nil {
		b = append(b, '-')
	} else {
		b = strconv.AppendInt(b, int64(*code), 10)
	}
	if signal != "" {
		b = append(b, '\t')
		b = append(b, signal...)
	}
	return append(b, '\n')
}

// tomlLiteral renders one param value as a TOML literal, keeping its type:
// 10 stays an integer, 10.0 a float.
func tomlLiteral(v any) (string, error) {
	var buf bytes.Buffer
	if err := toml.NewEncoder(&buf).Encode(map[string]any{"v": v}); err != nil {
		return "", fmt.Errorf("encode value: %w", err)
	}
	s := strings.TrimSpace(buf.String())
	lit, ok := strings.CutPrefix(s, "v = ")
	if !ok || strings.ContainsAny(lit, "\n\t") {
		return "", fmt.Errorf("encode value %v: not a single-line literal", v)
	}
	return lit, nil
}

func parseTOMLLiteral(lit string) (any, error) {
	var m map[string]any
	if _, err := toml.Decode("v = "+lit, &m); err != nil {
		return nil, err
	}
	return canonical(m["v"]), nil
}

// canonical maps what the TOML decoder yields onto the param value types.
func canonical(v any) any {
	switch x := v.(type) {
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = canonical(e)
		}
		return out
	case []map[string]any:
		return nil
	}
	return v
}

var errBadEntry = errors.New("bad journal entry")

// apply replays one journal line into the state. Lines that do not parse
// are reported as errBadEntry and otherwise ignored by callers.
func (st *state) apply(line []byte) error {
	if len(line) < 2 || line[1] != '\t' {
		return errBadEntry
	}
	kind := line[0]
	if kind == 'M' || kind == 'm' {
		return st.applyMetric(line[2:], kind == 'm')
	}
	f := strings.Split(string(line[2:]), "\t")
	switch kind {
	case 'S':
		var e startEntry
		if err := json.Unmarshal(line[2:], &e); err != nil || e.ID == "" {
			return errBadEntry
		}
		if st.started {
			return nil
		}
		st.started = true
		st.rec.ID = e.ID
		st.rec.Name = e.Name
		st.rec.Experiment = e.Experiment
		st.rec.Status = run.Running
		st.rec.Started = time.UnixMilli(e.Started).UTC()
		st.rec.Command = e.Command
		st.rec.Source = e.Source
		st.rec.Host = e.Host
		st.owner = e.Owner
		st.checkpoint = time.Duration(e.Checkpoint) * time.Millisecond
		st.rec.Env = e.Env
		st.rec.RerunOf = e.RerunOf
		st.output = e.Output
		st.outLimit = e.OutputLimit
		st.seen(e.Started)
	case 'P', 'p':
		if len(f) != 2 {
			return errBadEntry
		}
		v, err := parseTOMLLiteral(f[1])
		if err != nil {
			return errBadEntry
		}
		key, soft := f[0], kind == 'p'
		if _, dup := st.rec.Params[key]; dup {
			// Write-once: the first value logged stands, except that a
			// value the program logs replaces a default taken from argv.
			if soft || !st.soft[key] {
				return nil
			}
		} else if run.CheckParamShape(st.rec.Params, key) != nil {
			return nil
		}
		st.rec.Params[key] = v
		st.soft[key] = soft
	case 'T':
		if len(f) != 2 {
			return errBadEntry
		}
		var v string
		if err := json.Unmarshal([]byte(f[1]), &v); err != nil {
			return errBadEntry
		}
		st.rec.Tags[f[0]] = v
	case 'A':
		if len(f) != 3 {
			return errBadEntry
		}
		st.arts[f[0]] = run.Artifact{Path: f[0], Blob: f[1], Exec: f[2] == "755"}
	case 'H':
		var h run.Host
		if err := json.Unmarshal(line[2:], &h); err != nil {
			return errBadEntry
		}
		st.rec.Host.Merge(h)
	case 'X':
		if len(f) != 3 && len(f) != 4 {
			return errBadEntry
		}
		if len(f) == 4 {
			st.rec.Signal = f[3]
		}
		ms, err := strconv.ParseInt(f[0], 10, 64)
		s := run.Status(f[1])
		if err != nil || !s.Valid() || s == run.Running {
			return errBadEntry
		}
		if st.ended {
			return nil
		}
		st.ended = true
		st.rec.Status = s
		st.rec.Ended = time.UnixMilli(ms).UTC()
		if f[2] != "-" {
			c, err := strconv.Atoi(f[2])
			if err != nil {
				return errBadEntry
			}
			st.rec.ExitCode = &c
		}
		st.seen(ms)
	default:
		return errBadEntry
	}
	return nil
}

// applyMetric replays a metric point, "key\tstep\tms\tvalue". Runs log
// hundreds of thousands of points, so this path avoids allocating.
func (st *state) applyMetric(b []byte, parsed bool) error {
	var f [4][]byte
	for i := 0; i < 3; i++ {
		j := bytes.IndexByte(b, '\t')
		if j < 0 {
			return errBadEntry
		}
		f[i], b = b[:j], b[j+1:]
	}
	f[3] = b
	step, ok1 := parseJournalInt(f[1])
	ms, ok2 := parseJournalInt(f[2])
	v, err := run.ParseFloat(string(f[3]))
	if !ok1 || !ok2 || err != nil || len(f[0]) == 0 {
		return errBadEntry
	}
	st.addPoint(st.intern(f[0]), run.Point{Step: step, Time: ms, Value: v}, parsed)
	return nil
}

// intern returns key as a string, one copy of each however many points
// have it.
func (st *state) intern(key []byte) string {
	k, ok := st.keys[string(key)]
	if !ok {
		k = string(key)
		st.keys[k] = k
	}
	return k
}

// addPoint adds a point of metric key to the history, or to the points
// read from output when parsed.
func (st *state) addPoint(key string, p run.Point, parsed bool) {
	m := st.series
	if parsed {
		m = st.parsed
	}
	ps := m[key]
	if ps == nil {
		ps = new([]run.Point)
		m[key] = ps
	}
	*ps = append(*ps, p)
	st.next[key] = p.Step + 1
	st.seen(p.Time)
}

func parseJournalInt(b []byte) (int64, bool) {
	neg := len(b) > 0 && b[0] == '-'
	if neg {
		b = b[1:]
	}
	if len(b) == 0 || len(b) > 19 {
		return 0, false
	}
	var n int64
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int64(c-'0')
	}
	if n < 0 {
		return 0, false
	}
	if neg {
		n = -n
	}
	return n, true
}

func (st *state) seen(ms int64) {
	if ms > st.last {
		st.last = ms
	}
}

// replay applies every complete line of data and returns how many bytes it
// consumed: a trailing line without its newline is left for later, since
// its writer may still be writing it.
func (st *state) replay(data []byte) int {
	n := 0
	for {
		i := bytes.IndexByte(data[n:], '\n')
		if i < 0 {
			return n
		}
		st.apply(data[n : n+i]) // a torn or foreign line is skipped
		n += i + 1
	}
}

// record returns the record as of the replayed journal, with summaries.
func (st *state) record() *run.Record {
	r := st.rec
	r.Params = make(map[string]any, len(st.rec.Params))
	for k, v := range st.rec.Params {
		r.Params[k] = v
	}
	r.Tags = make(map[string]string, len(st.rec.Tags))
	for k, v := range st.rec.Tags {
		r.Tags[k] = v
	}
	h := st.history()
	r.Metrics = make(map[string]run.Summary, len(h))
	for k, pts := range h {
		r.Metrics[k] = run.Summarize(pts)
	}
	return &r
}

// contents is what a commit of the run holds, the output coming from the
// files next to the journal at path.
func (st *state) contents(path string) *run.Contents {
	c := &run.Contents{Record: st.record(), History: st.history(), Artifacts: st.artifacts()}
	if st.output {
		prefix, limit := outputPrefix(path), st.outLimit
		c.Output = func() ([]byte, error) {
			data, _, err := outlog.Read(prefix, limit)
			return data, err
		}
	}
	return c
}

// history returns every metric's points so far. A metric the program
// logged itself is what it logged: the points of that key read from its
// output, usually the same values printed, are left out. The slices are
// shared with st, which only ever appends to them.
func (st *state) history() run.History {
	h := make(run.History, len(st.series)+len(st.parsed))
	for k, pts := range st.parsed {
		h[k] = *pts
	}
	for k, pts := range st.series {
		h[k] = *pts
	}
	return h
}

func (st *state) artifacts() []run.Artifact {
	out := make([]run.Artifact, 0, len(st.arts))
	for _, a := range st.arts {
		out = append(out, a)
	}
	return out
}
