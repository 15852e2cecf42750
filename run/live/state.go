package live

import (
	"bytes"
	"encoding/json"
	"errors"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/gitruns/gitruns/run"
	"github.com/gitruns/gitruns/run/codec"
	"github.com/gitruns/gitruns/run/outlog"
)

// series is the points of one metric from one source, with their summary
// kept as they come, so that a commit of a run with millions of points
// does not go over all of them while the run's lock is held.
type series struct {
	points []run.Point
	sum    run.Summary
}

// add appends p, doubling the capacity when it runs out. append grows a
// large slice by a quarter, and every growth copies into pages the
// process has never touched: on the virtual machines runs are recorded
// on, a first touch costs about 11 µs a page, so a metric of 200,000
// points paid some 40 ms in page faults alone (measured with exec of a
// million output lines). Doubling touches each page about twice as few
// times.
func (s *series) add(p run.Point) {
	if len(s.points) == cap(s.points) && len(s.points) >= 1024 {
		grown := make([]run.Point, len(s.points), 2*len(s.points))
		copy(grown, s.points)
		s.points = grown
	}
	s.points = append(s.points, p)
	s.sum.Add(p)
}

// state is what replaying a journal yields.
type state struct {
	rec    run.Record
	logged map[string]*series // points the program logged (M entries), by key
	parsed map[string]*series // points read from its output (m entries), used for keys with no logged ones
	arts   map[string]run.Artifact
	soft   map[string]bool   // params set by a default (p) entry
	keys   map[string]string // metric keys, interned
	// nextLogged and nextParsed are the next automatic step of each key
	// for each source: a printed copy of a metric, which gives way to the
	// logged one, must not move the logged steps.
	nextLogged, nextParsed map[string]int64
	output                 bool
	outLimit               int64
	owner                  Owner
	author                 run.Person
	checkpoint             time.Duration
	started                bool
	ended                  bool
	last                   int64 // newest timestamp seen, Unix ms
	savedAt                int64 // when the run was last committed (C entry), Unix ms; 0 if never
	torn                   int   // lines that held a torn entry
}

func newState() *state {
	return &state{
		rec:        run.Record{Format: run.Format, Params: map[string]any{}, Tags: map[string]string{}, Metrics: map[string]run.Summary{}},
		logged:     map[string]*series{},
		parsed:     map[string]*series{},
		arts:       map[string]run.Artifact{},
		soft:       map[string]bool{},
		keys:       map[string]string{},
		nextLogged: map[string]int64{},
		nextParsed: map[string]int64{},
	}
}

var errBadEntry = errors.New("bad journal entry")

// replay applies every complete line of data and returns how many bytes it
// consumed: a trailing line without its newline is left for later, since
// its writer may still be writing it.
//
// A line that does not parse may be a torn entry (its writer was killed
// in the middle of it) with the next writer's whole entry appended to it:
// that entry, a suffix of the line starting with an entry kind and a tab,
// is found and applied, so that the death of one writer costs only its own
// unfinished entry.
func (st *state) replay(data []byte) int {
	n := 0
	for {
		i := bytes.IndexByte(data[n:], '\n')
		if i < 0 {
			return n
		}
		line := data[n : n+i]
		if st.apply(line) != nil {
			st.salvage(line)
		}
		n += i + 1
	}
}

// salvage applies the first whole entry found inside a line that did not
// parse, and counts the line as torn when there is one.
func (st *state) salvage(line []byte) {
	for i := 1; i+1 < len(line); i++ {
		if line[i+1] == '\t' && strings.IndexByte(entryKinds, line[i]) >= 0 && st.apply(line[i:]) == nil {
			st.torn++
			return
		}
	}
}

// apply replays one journal line into the state. A line that does not
// parse is reported as errBadEntry and changes nothing.
func (st *state) apply(line []byte) error {
	if len(line) < 2 || line[1] != '\t' {
		return errBadEntry
	}
	kind := line[0]
	switch kind {
	case 'M', 'm':
		return st.applyMetric(line[2:], kind == 'm')
	case 'S':
		return st.applyStart(line[2:])
	case 'H':
		var h run.Host
		if err := json.Unmarshal(line[2:], &h); err != nil {
			return errBadEntry
		}
		st.rec.Host.Merge(h)
		return nil
	}
	f := strings.Split(string(line[2:]), "\t")
	switch kind {
	case 'P', 'p':
		return st.applyParam(f, kind == 'p')
	case 'T':
		return st.applyTag(f)
	case 'N':
		var name string
		if len(f) != 1 || json.Unmarshal([]byte(f[0]), &name) != nil || run.ValidateName(name) != nil {
			return errBadEntry
		}
		st.rec.Name = name
	case 'A':
		if len(f) != 3 {
			return errBadEntry
		}
		if f[1] == "-" {
			st.removeArtifacts(f[0])
			break
		}
		st.arts[f[0]] = run.Artifact{Path: f[0], Blob: f[1], Exec: f[2] == "755"}
	case 'C':
		ms, ok := parseJournalInt([]byte(f[0]))
		if len(f) != 2 || !ok {
			return errBadEntry
		}
		st.savedAt = max(st.savedAt, ms)
	case 'X':
		return st.applyEnd(f)
	default:
		return errBadEntry
	}
	return nil
}

func (st *state) applyStart(b []byte) error {
	var e startEntry
	if err := json.Unmarshal(b, &e); err != nil || e.ID == "" {
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
	st.author = e.Author
	st.checkpoint = time.Duration(e.Checkpoint) * time.Millisecond
	st.rec.Env = e.Env
	st.rec.RerunOf = e.RerunOf
	st.output = e.Output
	st.outLimit = e.OutputLimit
	st.seen(e.Started)
	return nil
}

func (st *state) applyParam(f []string, soft bool) error {
	if len(f) != 2 {
		return errBadEntry
	}
	v, err := codec.ParseLiteral(f[1])
	if err != nil {
		return errBadEntry
	}
	key := f[0]
	if _, dup := st.rec.Params[key]; dup {
		// Write-once: the first value logged stands, except that a value
		// the program logs replaces a default taken from argv.
		if soft || !st.soft[key] {
			return nil
		}
	} else if run.CheckParamShape(st.rec.Params, key) != nil {
		return nil
	}
	st.rec.Params[key] = v
	st.soft[key] = soft
	return nil
}

func (st *state) applyEnd(f []string) error {
	if len(f) != 3 && len(f) != 4 {
		return errBadEntry
	}
	ms, err := strconv.ParseInt(f[0], 10, 64)
	s := run.Status(f[1])
	if err != nil || !s.Valid() || s == run.Running {
		return errBadEntry
	}
	var code *int
	if f[2] != "-" {
		c, err := strconv.Atoi(f[2])
		if err != nil {
			return errBadEntry
		}
		code = &c
	}
	if st.ended {
		return nil
	}
	st.ended = true
	st.rec.Status = s
	st.rec.Ended = time.UnixMilli(ms).UTC()
	st.rec.ExitCode = code
	if len(f) == 4 {
		st.rec.Signal = f[3]
	}
	st.seen(ms)
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

// addPoint adds a point of metric key, logged by the program or read from
// its output when parsed.
func (st *state) addPoint(key string, p run.Point, parsed bool) {
	m, next := st.logged, st.nextLogged
	if parsed {
		m, next = st.parsed, st.nextParsed
	}
	s := m[key]
	if s == nil {
		s = &series{}
		m[key] = s
	}
	s.add(p)
	if p.Step != maxStep {
		next[key] = p.Step + 1
	} else {
		next[key] = NextStep // none left: the next automatic step is refused
	}
	st.seen(p.Time)
}

// applyTag applies "T key value [ms]": the value is JSON, null for a tag
// removed, and the time, when given, is when it was set or removed.
func (st *state) applyTag(f []string) error {
	var v *string
	if len(f) < 2 || len(f) > 3 || json.Unmarshal([]byte(f[1]), &v) != nil {
		return errBadEntry
	}
	if v == nil {
		delete(st.rec.Tags, f[0])
	} else {
		st.rec.Tags[f[0]] = *v
	}
	if len(f) == 3 {
		ms, ok := parseJournalInt([]byte(f[2]))
		if !ok {
			return errBadEntry
		}
		if st.rec.TagTimes == nil {
			st.rec.TagTimes = map[string]time.Time{}
		}
		st.rec.TagTimes[f[0]] = time.UnixMilli(ms).UTC()
	}
	return nil
}

func (st *state) seen(ms int64) {
	if ms > st.last {
		st.last = ms
	}
}

// record returns the record as of the replayed journal, with summaries.
// It takes time in the number of keys, not of points.
func (st *state) record() *run.Record {
	r := st.rec
	r.Params = maps.Clone(st.rec.Params)
	r.Tags = maps.Clone(st.rec.Tags)
	r.TagTimes = maps.Clone(st.rec.TagTimes)
	r.Metrics = make(map[string]run.Summary, len(st.logged)+len(st.parsed))
	for k, s := range st.parsed {
		r.Metrics[k] = s.sum
	}
	for k, s := range st.logged {
		r.Metrics[k] = s.sum
	}
	return &r
}

// contents is what a commit of the run holds, the output coming from the
// files next to the journal at path. It shares the points with st, which
// only ever appends to them, so that it may be written out without st's
// lock.
func (st *state) contents(path string) *run.Contents {
	c := &run.Contents{Record: st.record(), History: st.history(), Artifacts: st.artifacts(), Author: st.author}
	c.Record.Updated = time.Now().UTC().Truncate(time.Millisecond)
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
// shared with st, capped at their length so that no append through them
// reaches st's.
func (st *state) history() run.History {
	h := make(run.History, len(st.logged)+len(st.parsed))
	for k, s := range st.parsed {
		h[k] = s.points[:len(s.points):len(s.points)]
	}
	for k, s := range st.logged {
		h[k] = s.points[:len(s.points):len(s.points)]
	}
	return h
}

// removeArtifacts drops the artifact at p, or every artifact below the
// directory p.
func (st *state) removeArtifacts(p string) {
	delete(st.arts, p)
	for k := range st.arts {
		if strings.HasPrefix(k, p+"/") {
			delete(st.arts, k)
		}
	}
}

func (st *state) artifacts() []run.Artifact {
	return slices.Collect(maps.Values(st.arts))
}
