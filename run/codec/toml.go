package codec

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/BurntSushi/toml"
	"github.com/gitruns/gitruns/run"
)

// timeLayout is how run.toml and JSON output write times: always three
// fractional digits so that every record's times line up and compare as text.
const timeLayout = "2006-01-02T15:04:05.000Z"

// EncodeTOML returns r as the text of run.toml.
//
// The text is fully determined by the record, so rewriting an unchanged record
// gives an empty git diff, and it is laid out for people reading it with plain
// git: top-level keys, then the [source], [host], [[host.gpus]], [env],
// [params], [tags] and [metrics.<key>] tables. Optional keys and tables are
// left out when empty, so a record that does not use a field reads as it did
// before the field existed. The format key is always Format, the layout this
// function writes, whatever r.Format holds. Times are written in UTC to the
// millisecond. Invalid UTF-8 in string values becomes U+FFFD, since TOML text
// must be UTF-8; in keys it is an error. EncodeTOML fails when the record
// could not be read back: an invalid id, rerun_of id, signal or status, a
// time outside years 0-9999, a param value of a non-canonical type, or two
// params of which one would be a table holding the other ("a" and "a.b").
func EncodeTOML(r *run.Record) ([]byte, error) {
	if !run.ValidID(r.ID) {
		return nil, fmt.Errorf("encode record: invalid id %q", r.ID)
	}
	if !r.Status.Valid() {
		return nil, fmt.Errorf("encode record: invalid status %q", r.Status)
	}
	if r.Signal != "" && !validSignal(r.Signal) {
		return nil, fmt.Errorf("encode record: invalid signal %q", r.Signal)
	}
	if r.RerunOf != "" && !run.ValidID(r.RerunOf) {
		return nil, fmt.Errorf("encode record: invalid rerun_of %q", r.RerunOf)
	}
	if !tomlTimeOK(r.Started) {
		return nil, fmt.Errorf("encode record: start time %v is out of range", r.Started)
	}
	if !r.Ended.IsZero() && !tomlTimeOK(r.Ended) {
		return nil, fmt.Errorf("encode record: end time %v is out of range", r.Ended)
	}
	if !r.Updated.IsZero() && !tomlTimeOK(r.Updated) {
		return nil, fmt.Errorf("encode record: update time %v is out of range", r.Updated)
	}
	for k, t := range r.TagTimes {
		if !tomlTimeOK(t) {
			return nil, fmt.Errorf("encode record: time of tag %q %v is out of range", k, t)
		}
	}
	var paramBuf [32]entry[any]
	params := sortedParams(r.Params, paramBuf[:0])
	if a, b, ok := paramConflict(params); ok {
		return nil, fmt.Errorf("encode record: param %q conflicts with param %q", b, a)
	}

	e := tomlEncoder{b: make([]byte, 0, 512+64*(len(r.Params)+len(r.Tags)+len(r.Env)+2*len(r.Metrics)))}
	e.b = append(e.b, "format = "...)
	e.b = strconv.AppendInt(e.b, run.Format, 10)
	e.stringField("\nid = ", r.ID)
	e.stringField("\nname = ", r.Name)
	e.stringField("\nexperiment = ", r.Experiment)
	e.stringField("\nstatus = ", string(r.Status))
	e.b = append(e.b, "\nstarted = "...)
	e.b = appendTime(e.b, r.Started)
	if !r.Ended.IsZero() {
		e.b = append(e.b, "\nended = "...)
		e.b = appendTime(e.b, r.Ended)
	}
	if len(r.Command) > 0 {
		e.b = append(e.b, "\ncommand = "...)
		e.stringArray(r.Command)
	}
	if r.ExitCode != nil {
		e.b = append(e.b, "\nexit_code = "...)
		e.b = strconv.AppendInt(e.b, int64(*r.ExitCode), 10)
	}
	if r.Signal != "" {
		e.stringField("\nsignal = ", r.Signal)
	}
	if r.RerunOf != "" {
		e.stringField("\nrerun_of = ", r.RerunOf)
	}
	if !r.Updated.IsZero() {
		e.b = append(e.b, "\nupdated = "...)
		e.b = appendTime(e.b, r.Updated)
	}
	if s := int64(r.CheckpointInterval / time.Second); s > 0 {
		e.b = append(e.b, "\ncheckpoint_interval = "...)
		e.b = strconv.AppendInt(e.b, s, 10)
	}

	e.b = append(e.b, "\n\n[source]"...)
	e.stringField("\ncommit = ", r.Source.Commit)
	e.stringField("\nbranch = ", r.Source.Branch)
	e.b = append(e.b, "\ndirty = "...)
	e.b = strconv.AppendBool(e.b, r.Source.Dirty)
	if r.Source.Snapshot != "" {
		e.stringField("\nsnapshot = ", r.Source.Snapshot)
	}
	if len(r.Source.Skipped) > 0 {
		e.b = append(e.b, "\nskipped = "...)
		e.stringArray(r.Source.Skipped)
	}
	if r.Source.Dir != "" {
		e.stringField("\ndir = ", r.Source.Dir)
	}

	e.b = append(e.b, "\n\n[host]"...)
	e.stringField("\nhostname = ", r.Host.Hostname)
	e.stringField("\nuser = ", r.Host.User)
	e.stringField("\nos = ", r.Host.OS)
	e.stringField("\narch = ", r.Host.Arch)
	e.hostExtras(&r.Host)
	e.b = append(e.b, '\n')

	e.stringTable("\n[env]\n", r.Env)

	if len(params) > 0 {
		e.paramTable(params, 0)
	}

	e.stringTable("\n[tags]\n", r.Tags)
	e.timeTable("\n[tag_times]\n", r.TagTimes)

	var metricBuf [16]entry[run.Summary]
	for _, m := range sortedEntries(r.Metrics, metricBuf[:0]) {
		s := m.val
		e.b = append(e.b, "\n[metrics."...)
		e.key(m.key)
		e.b = append(e.b, "]\nlast = "...)
		e.b = appendTOMLFloat(e.b, s.Last)
		e.b = append(e.b, "\nstep = "...)
		e.b = strconv.AppendInt(e.b, s.Step, 10)
		e.b = append(e.b, "\nmin = "...)
		e.b = appendTOMLFloat(e.b, s.Min)
		e.b = append(e.b, "\nmax = "...)
		e.b = appendTOMLFloat(e.b, s.Max)
		e.b = append(e.b, "\ncount = "...)
		e.b = strconv.AppendInt(e.b, s.Count, 10)
		if s.Time != 0 {
			e.b = append(e.b, "\ntime = "...)
			e.b = strconv.AppendInt(e.b, s.Time, 10)
		}
		e.b = append(e.b, '\n')
	}

	if e.err != nil {
		return nil, e.err
	}
	return e.b, nil
}

// tomlEncoder carries the first error so that the many small writes of an
// encoding need not each be checked.
type tomlEncoder struct {
	b   []byte
	err error
}

// hostExtras writes the optional keys of [host], each left out when zero,
// and then a [[host.gpus]] table per GPU. A GPU's table always has all three
// keys, so that every GPU reads the same.
func (e *tomlEncoder) hostExtras(h *run.Host) {
	if h.CPU != "" {
		e.stringField("\ncpu = ", h.CPU)
	}
	if h.CPUs != 0 {
		e.b = append(e.b, "\ncpus = "...)
		e.b = strconv.AppendInt(e.b, int64(h.CPUs), 10)
	}
	if h.MemoryMiB != 0 {
		e.b = append(e.b, "\nmemory_mib = "...)
		e.b = strconv.AppendInt(e.b, h.MemoryMiB, 10)
	}
	if h.Python != "" {
		e.stringField("\npython = ", h.Python)
	}
	if h.PythonExecutable != "" {
		e.stringField("\npython_executable = ", h.PythonExecutable)
	}
	if len(h.PythonPackages) > 0 {
		e.b = append(e.b, "\npython_packages = "...)
		e.stringArray(h.PythonPackages)
	}
	for _, g := range h.GPUs {
		e.stringField("\n\n[[host.gpus]]\nname = ", g.Name)
		e.b = append(e.b, "\nmemory_mib = "...)
		e.b = strconv.AppendInt(e.b, g.MemoryMiB, 10)
		e.stringField("\ndriver = ", g.Driver)
	}
}

func (e *tomlEncoder) stringField(prefix, s string) {
	e.b = append(e.b, prefix...)
	e.b = appendQuoted(e.b, s, false)
}

func (e *tomlEncoder) stringArray(a []string) {
	e.b = append(e.b, '[')
	for i, s := range a {
		if i > 0 {
			e.b = append(e.b, ", "...)
		}
		e.b = appendQuoted(e.b, s, false)
	}
	e.b = append(e.b, ']')
}

// key writes k bare when TOML allows it, so that common keys stay readable,
// and quoted otherwise.
// stringTable writes a table of strings, such as [tags], under header,
// its keys in order; nothing when m is empty.
func (e *tomlEncoder) stringTable(header string, m map[string]string) {
	if len(m) == 0 {
		return
	}
	e.b = append(e.b, header...)
	var buf [16]entry[string]
	for _, v := range sortedEntries(m, buf[:0]) {
		e.key(v.key)
		e.b = append(e.b, " = "...)
		e.b = appendQuoted(e.b, v.val, false)
		e.b = append(e.b, '\n')
	}
}

// timeTable writes a table of datetimes, such as [tag_times], as
// stringTable writes strings.
func (e *tomlEncoder) timeTable(header string, m map[string]time.Time) {
	if len(m) == 0 {
		return
	}
	e.b = append(e.b, header...)
	var buf [16]entry[time.Time]
	for _, v := range sortedEntries(m, buf[:0]) {
		e.key(v.key)
		e.b = append(e.b, " = "...)
		e.b = appendTime(e.b, v.val)
		e.b = append(e.b, '\n')
	}
}

func (e *tomlEncoder) key(k string) {
	if bareKey(k) {
		e.b = append(e.b, k...)
		return
	}
	if !utf8.ValidString(k) {
		// Replacing bytes, as values do, could make two keys equal.
		e.fail(fmt.Errorf("encode record: key %q is not valid UTF-8", k))
	}
	e.b = appendQuoted(e.b, k, false)
}

// paramTable writes params, whose keys all share their first p bytes: the
// dotted path of the table plus its dot. It writes the table's own values
// first and then its subtables, as TOML requires that the values of a table
// follow its header directly. The header is left out of a table with no
// values of its own, TOML creating it implicitly.
func (e *tomlEncoder) paramTable(params []entry[any], p int) {
	header := false
	for _, kv := range params {
		rest := kv.key[p:]
		if strings.IndexByte(rest, '.') >= 0 {
			continue
		}
		if !header {
			e.b = append(e.b, "\n[params"...)
			e.path(kv.key[:p])
			e.b = append(e.b, "]\n"...)
			header = true
		}
		e.key(rest)
		e.b = append(e.b, " = "...)
		e.value(kv.key, kv.val, 0)
		e.b = append(e.b, '\n')
	}
	for i := 0; i < len(params); {
		rest := params[i].key[p:]
		dot := strings.IndexByte(rest, '.')
		if dot < 0 {
			i++
			continue
		}
		j := i + 1
		for j < len(params) && run.InParamTable(params[j].key[p:], rest[:dot]) {
			j++
		}
		e.paramTable(params[i:j], p+dot+1)
		i = j
	}
}

// path writes the segments of a dotted table path, each with its own dot, as
// "params" comes before it.
func (e *tomlEncoder) path(prefix string) {
	for prefix != "" {
		seg, rest, _ := strings.Cut(prefix, ".")
		e.b = append(e.b, '.')
		e.key(seg)
		prefix = rest
	}
}

func (e *tomlEncoder) value(key string, v any, depth int) {
	switch v := v.(type) {
	case int64:
		e.b = strconv.AppendInt(e.b, v, 10)
	case float64:
		e.b = appendTOMLFloat(e.b, v)
	case bool:
		e.b = strconv.AppendBool(e.b, v)
	case string:
		e.b = appendQuoted(e.b, v, false)
	case []any:
		if depth >= run.MaxParamDepth {
			e.fail(fmt.Errorf("encode record: param %q: arrays nest deeper than %d", key, run.MaxParamDepth))
			return
		}
		e.b = append(e.b, '[')
		for i, x := range v {
			if i > 0 {
				e.b = append(e.b, ", "...)
			}
			e.value(key, x, depth+1)
		}
		e.b = append(e.b, ']')
	default:
		e.fail(fmt.Errorf("encode record: param %q: unsupported type %T", key, v))
	}
}

func (e *tomlEncoder) fail(err error) {
	if e.err == nil {
		e.err = err
	}
}

// validSignal reports whether s can be the name of a signal: ASCII letters
// and digits, such as "SIGTERM".
func validSignal(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9') {
			return false
		}
	}
	return true
}

// bareKey reports whether k may be written unquoted as a TOML key.
func bareKey(k string) bool {
	if k == "" {
		return false
	}
	for i := 0; i < len(k); i++ {
		c := k[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '_' || c == '-') {
			return false
		}
	}
	return true
}

// tomlTimeOK reports whether t can be written as a TOML datetime, which has
// a four-digit year.
func tomlTimeOK(t time.Time) bool {
	y := t.UTC().Year()
	return 0 <= y && y <= 9999
}

// appendTime writes t as UTC to the millisecond, the precision records keep.
// It spells the digits out itself: time.AppendFormat, which interprets its
// layout on every call, is several times slower, and listings write two
// times per record.
func appendTime(b []byte, t time.Time) []byte {
	t = t.UTC()
	year, month, day := t.Date()
	if year < 0 || year > 9999 {
		return t.AppendFormat(b, timeLayout)
	}
	hour, minute, sec := t.Clock()
	ms := t.Nanosecond() / int(time.Millisecond)
	return append(b,
		byte('0'+year/1000), byte('0'+year/100%10), byte('0'+year/10%10), byte('0'+year%10), '-',
		byte('0'+month/10), byte('0'+month%10), '-',
		byte('0'+day/10), byte('0'+day%10), 'T',
		byte('0'+hour/10), byte('0'+hour%10), ':',
		byte('0'+minute/10), byte('0'+minute%10), ':',
		byte('0'+sec/10), byte('0'+sec%10), '.',
		byte('0'+ms/100), byte('0'+ms/10%10), byte('0'+ms%10), 'Z')
}

// appendTOMLFloat writes f so that it reads back as a float with the same
// value: shortest round-trip digits, with ".0" added to integral values that
// TOML would otherwise read as integers.
func appendTOMLFloat(b []byte, f float64) []byte {
	switch {
	case f != f:
		return append(b, "nan"...)
	case math.IsInf(f, 1):
		return append(b, "inf"...)
	case math.IsInf(f, -1):
		return append(b, "-inf"...)
	}
	n := len(b)
	b = appendFloat(b, f)
	for _, c := range b[n:] {
		if c == '.' || c == 'e' {
			return b
		}
	}
	return append(b, ".0"...)
}

// appendFloat writes a finite f as strconv's 'g' format with the shortest
// precision does, taking a shortcut for the small integral values that are
// common in params and steps and that it would write as plain integers.
func appendFloat(b []byte, f float64) []byte {
	if f == math.Trunc(f) && -1e6 < f && f < 1e6 && (f != 0 || !math.Signbit(f)) {
		return strconv.AppendInt(b, int64(f), 10)
	}
	return strconv.AppendFloat(b, f, 'g', -1, 64)
}

// hexDigits are the digits of the \u escapes in quoted strings.
const hexDigits = "0123456789abcdef"

// tomlPlain and jsonPlain tell which bytes stand for themselves in quoted
// strings, so that the common case costs one table look-up per byte. Bytes
// from 0x80 up are not plain: they need checking for valid UTF-8.
var tomlPlain, jsonPlain = func() (toml, json [256]bool) {
	for c := 0x20; c < 0x80; c++ {
		toml[c] = c != '"' && c != '\\' && c != 0x7f
		json[c] = c != '"' && c != '\\'
	}
	return toml, json
}()

// appendQuoted writes s as a TOML basic string or, when json is set, as a JSON
// string. The two syntaxes share their escapes except that TOML also wants
// DEL escaped. Invalid UTF-8 becomes U+FFFD because neither format may hold
// it.
func appendQuoted(b []byte, s string, json bool) []byte {
	plain := &tomlPlain
	if json {
		plain = &jsonPlain
	}
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if plain[c] {
			i++
			continue
		}
		if c >= utf8.RuneSelf {
			r, size := utf8.DecodeRuneInString(s[i:])
			if r != utf8.RuneError || size > 1 {
				i += size
				continue
			}
			b = append(b, s[start:i]...)
			b = append(b, "\uFFFD"...)
			i++
			start = i
			continue
		}
		b = append(b, s[start:i]...)
		switch c {
		case '"', '\\':
			b = append(b, '\\', c)
		case '\n':
			b = append(b, '\\', 'n')
		case '\r':
			b = append(b, '\\', 'r')
		case '\t':
			b = append(b, '\\', 't')
		default:
			b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
		}
		i++
		start = i
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}

// entry is a map entry, for walking maps in key order without looking each
// key up again.
type entry[V any] struct {
	key string
	val V
}

// sortedEntries returns the entries of m in key byte order, appended to buf
// so that callers can keep small maps' entries on the stack.
func sortedEntries[V any](m map[string]V, buf []entry[V]) []entry[V] {
	for k, v := range m {
		buf = append(buf, entry[V]{k, v})
	}
	slices.SortFunc(buf, func(a, b entry[V]) int { return strings.Compare(a.key, b.key) })
	return buf
}

// sortedKeys returns the keys of m in byte order, appended to buf.
func sortedKeys[V any](m map[string]V, buf []string) []string {
	for k := range m {
		buf = append(buf, k)
	}
	slices.Sort(buf)
	return buf
}

// sortedParams returns the entries of params in the order of
// run.CompareParamKeys.
func sortedParams(params map[string]any, buf []entry[any]) []entry[any] {
	for k, v := range params {
		buf = append(buf, entry[any]{k, v})
	}
	slices.SortFunc(buf, func(a, b entry[any]) int { return run.CompareParamKeys(a.key, b.key) })
	return buf
}

// paramConflict finds two keys of which the first names a table holding the
// second ("a" and "a.b"), which run.toml and JSON objects cannot represent.
// In the order of run.CompareParamKeys such a key is directly followed by a key
// it holds, so neighbours are all that need comparing.
func paramConflict(sorted []entry[any]) (a, b string, ok bool) {
	for i := 1; i < len(sorted); i++ {
		if run.InParamTable(sorted[i].key, sorted[i-1].key) {
			return sorted[i-1].key, sorted[i].key, true
		}
	}
	return "", "", false
}

// DecodeTOML reads the text of run.toml.
//
// Keys it does not know are ignored so that files written by later versions
// of the same format still read; a format newer than Format is an error, as
// are a missing or invalid id or status, an invalid rerun_of id or signal and
// values of the wrong type. Nested param tables come back as dotted keys.
// Env, Params, Tags and Metrics are never nil, so that callers can add to
// them; Command, Source.Skipped, Host.GPUs and Host.PythonPackages are nil
// when empty.
func DecodeTOML(b []byte) (*run.Record, error) {
	// Listings decode thousands of records, nearly all as EncodeTOML wrote
	// them: a parser for that layout alone reads them some twenty times
	// faster. Anything else, errors included, takes the general decoder.
	//
	// Records arrive from other repositories, so the text is held to the
	// limits of docs/FORMAT.md: its size before anything is read, its
	// nesting before the general decoder (whose cost grows with it) reads
	// it, and the lengths and counts of what it holds after either.
	if len(b) > run.MaxRecordSize {
		return nil, fmt.Errorf("decode record: %d bytes, more than %d", len(b), run.MaxRecordSize)
	}
	r, ok := decodeTOMLFast(b)
	if !ok {
		if err := checkTOMLShape(b); err != nil {
			return nil, err
		}
		var err error
		if r, err = decodeTOMLGeneral(b); err != nil {
			return nil, shortError(err)
		}
	}
	if err := checkRecord(r); err != nil {
		return nil, err
	}
	return r, nil
}

// decodeTOMLGeneral is DecodeTOML for any TOML text.
func decodeTOMLGeneral(b []byte) (*run.Record, error) {
	var doc map[string]any
	if err := toml.Unmarshal(b, &doc); err != nil {
		return nil, fmt.Errorf("decode record: %w", err)
	}
	d := tomlDecoder{}
	r := &run.Record{}

	switch f, ok := doc["format"].(int64); {
	case doc["format"] == nil:
		return nil, errors.New("decode record: missing format")
	case !ok:
		return nil, fmt.Errorf("decode record: format is %s, not an integer", tomlType(doc["format"]))
	case f > run.Format:
		return nil, fmt.Errorf("record format %d is newer than this git-runs understands (%d)", f, run.Format)
	case f < 1:
		return nil, fmt.Errorf("decode record: invalid format %d", f)
	default:
		r.Format = int(f)
	}

	r.ID = d.str(doc, "id")
	r.Name = d.str(doc, "name")
	r.Experiment = d.str(doc, "experiment")
	r.Status = run.Status(d.str(doc, "status"))
	if d.err != nil {
		return nil, d.err
	}
	switch {
	case doc["id"] == nil:
		return nil, errors.New("decode record: missing id")
	case !run.ValidID(r.ID):
		return nil, fmt.Errorf("decode record: invalid id %q", r.ID)
	case doc["status"] == nil:
		return nil, errors.New("decode record: missing status")
	case !r.Status.Valid():
		return nil, fmt.Errorf("decode record: invalid status %q", r.Status)
	}
	r.Started = d.time(doc, "started")
	r.Ended = d.time(doc, "ended")
	r.Command = d.strs(doc, "command")
	if v, ok := doc["exit_code"]; ok {
		c, ok := v.(int64)
		if !ok || int64(int(c)) != c {
			d.fail("exit_code", "an int", v)
		} else {
			code := int(c)
			r.ExitCode = &code
		}
	}
	r.Signal = d.str(doc, "signal")
	r.RerunOf = d.str(doc, "rerun_of")
	r.Updated = d.time(doc, "updated")
	if n := d.int(doc, "checkpoint_interval"); n > 0 && n < 1<<31 {
		r.CheckpointInterval = time.Duration(n) * time.Second
	}
	if d.err != nil {
		return nil, d.err
	}
	// Both are checked as EncodeTOML checks them, so that every record read
	// can be written back.
	if r.Signal != "" && !validSignal(r.Signal) {
		return nil, fmt.Errorf("decode record: invalid signal %q", r.Signal)
	}
	if r.RerunOf != "" && !run.ValidID(r.RerunOf) {
		return nil, fmt.Errorf("decode record: invalid rerun_of %q", r.RerunOf)
	}

	if src := d.table(doc, "source"); src != nil {
		r.Source.Commit = d.str(src, "commit")
		r.Source.Branch = d.str(src, "branch")
		r.Source.Dirty = d.bool(src, "dirty")
		r.Source.Snapshot = d.str(src, "snapshot")
		r.Source.Skipped = d.strs(src, "skipped")
		r.Source.Dir = d.str(src, "dir")
	}
	if host := d.table(doc, "host"); host != nil {
		r.Host.Hostname = d.str(host, "hostname")
		r.Host.User = d.str(host, "user")
		r.Host.OS = d.str(host, "os")
		r.Host.Arch = d.str(host, "arch")
		r.Host.CPU = d.str(host, "cpu")
		if n := d.int(host, "cpus"); int64(int(n)) != n {
			d.fail("cpus", "an int", host["cpus"])
		} else {
			r.Host.CPUs = int(n)
		}
		r.Host.MemoryMiB = d.int(host, "memory_mib")
		r.Host.GPUs = d.gpus(host)
		r.Host.Python = d.str(host, "python")
		r.Host.PythonExecutable = d.str(host, "python_executable")
		r.Host.PythonPackages = d.strs(host, "python_packages")
	}
	if d.err != nil {
		return nil, d.err
	}

	env := d.table(doc, "env")
	r.Env = make(map[string]string, len(env))
	for k, v := range env {
		s, ok := v.(string)
		if !ok {
			return nil, fmt.Errorf("decode record: env %q is %s, not a string", k, tomlType(v))
		}
		r.Env[k] = s
	}
	if d.err != nil {
		return nil, d.err
	}

	r.Params = make(map[string]any)
	if params := d.table(doc, "params"); params != nil {
		if err := flattenTOMLParams(r.Params, "", params); err != nil {
			return nil, err
		}
		var paramBuf [32]entry[any]
		if a, b, ok := paramConflict(sortedParams(r.Params, paramBuf[:0])); ok {
			return nil, fmt.Errorf("decode record: param %q conflicts with param %q", b, a)
		}
	}

	tags := d.table(doc, "tags")
	r.Tags = make(map[string]string, len(tags))
	for k, v := range tags {
		s, ok := v.(string)
		if !ok {
			return nil, fmt.Errorf("decode record: tag %q is %s, not a string", k, tomlType(v))
		}
		r.Tags[k] = s
	}

	if times := d.table(doc, "tag_times"); len(times) > 0 {
		r.TagTimes = make(map[string]time.Time, len(times))
		for k := range times {
			r.TagTimes[k] = d.time(times, k)
		}
	}

	metrics := d.table(doc, "metrics")
	r.Metrics = make(map[string]run.Summary, len(metrics))
	for k, v := range metrics {
		m, ok := v.(map[string]any)
		if !ok {
			return nil, fmt.Errorf("decode record: metric %q is %s, not a table", k, tomlType(v))
		}
		r.Metrics[k] = run.Summary{
			Last:  d.float(m, "last"),
			Step:  d.int(m, "step"),
			Min:   d.float(m, "min"),
			Max:   d.float(m, "max"),
			Count: d.int(m, "count"),
			Time:  d.int(m, "time"),
		}
	}
	if d.err != nil {
		return nil, d.err
	}
	return r, nil
}

// tomlDecoder keeps the first type error met while reading fields, so that
// reading a record is a flat list of field reads.
type tomlDecoder struct {
	err  error
	what string // what the file holds, for errors: "" for a record
}

func (d *tomlDecoder) fail(key, want string, v any) {
	if d.err == nil {
		d.err = fmt.Errorf("decode %s: %s is %s, not %s", d.noun(), key, tomlType(v), want)
	}
}

func (d *tomlDecoder) noun() string {
	if d.what == "" {
		return "record"
	}
	return d.what
}

func (d *tomlDecoder) str(m map[string]any, key string) string {
	v, ok := m[key]
	if !ok {
		return ""
	}
	s, ok := v.(string)
	if !ok {
		d.fail(key, "a string", v)
	}
	return s
}

func (d *tomlDecoder) bool(m map[string]any, key string) bool {
	v, ok := m[key]
	if !ok {
		return false
	}
	x, ok := v.(bool)
	if !ok {
		d.fail(key, "a boolean", v)
	}
	return x
}

func (d *tomlDecoder) int(m map[string]any, key string) int64 {
	v, ok := m[key]
	if !ok {
		return 0
	}
	x, ok := v.(int64)
	if !ok {
		d.fail(key, "an integer", v)
	}
	return x
}

// float accepts integers too, as people editing a file by hand may drop the
// ".0".
func (d *tomlDecoder) float(m map[string]any, key string) float64 {
	switch v := m[key].(type) {
	case nil:
		return 0
	case float64:
		return v
	case int64:
		return float64(v)
	default:
		d.fail(key, "a float", v)
		return 0
	}
}

// time reads a datetime as UTC truncated to the millisecond, the precision
// EncodeTOML writes, so that a record reads back the same after a rewrite.
func (d *tomlDecoder) time(m map[string]any, key string) time.Time {
	v, ok := m[key]
	if !ok {
		return time.Time{}
	}
	t, ok := v.(time.Time)
	if !ok {
		d.fail(key, "a datetime", v)
		return time.Time{}
	}
	t = t.UTC()
	t = t.Add(-time.Duration(t.Nanosecond() % int(time.Millisecond)))
	if !tomlTimeOK(t) {
		if d.err == nil {
			d.err = fmt.Errorf("decode %s: %s %v is out of range", d.noun(), key, t)
		}
		return time.Time{}
	}
	return t
}

// strs reads an array of strings, giving nil for an empty one as EncodeTOML
// leaves empty arrays out.
func (d *tomlDecoder) strs(m map[string]any, key string) []string {
	v, ok := m[key]
	if !ok {
		return nil
	}
	a, ok := v.([]any)
	if !ok {
		d.fail(key, "an array", v)
		return nil
	}
	if len(a) == 0 {
		return nil
	}
	out := make([]string, len(a))
	for i, x := range a {
		s, ok := x.(string)
		if !ok {
			d.fail(key, "an array of strings", v)
			return nil
		}
		out[i] = s
	}
	return out
}

// gpus reads the array of tables host.gpus, written [[host.gpus]] or as an
// inline array of tables, giving nil for an empty one.
func (d *tomlDecoder) gpus(host map[string]any) []run.GPU {
	v, ok := host["gpus"]
	if !ok {
		return nil
	}
	var tables []map[string]any
	switch v := v.(type) {
	case []map[string]any:
		tables = v
	case []any:
		tables = make([]map[string]any, len(v))
		for i, x := range v {
			t, ok := x.(map[string]any)
			if !ok {
				d.fail("gpus", "an array of tables", v)
				return nil
			}
			tables[i] = t
		}
	default:
		d.fail("gpus", "an array of tables", v)
		return nil
	}
	if len(tables) == 0 {
		return nil
	}
	out := make([]run.GPU, len(tables))
	for i, t := range tables {
		out[i] = run.GPU{Name: d.str(t, "name"), MemoryMiB: d.int(t, "memory_mib"), Driver: d.str(t, "driver")}
	}
	return out
}

func (d *tomlDecoder) table(m map[string]any, key string) map[string]any {
	v, ok := m[key]
	if !ok {
		return nil
	}
	t, ok := v.(map[string]any)
	if !ok {
		d.fail(key, "a table", v)
	}
	return t
}

// flattenTOMLParams adds the values of table m to dst under dotted keys
// starting with prefix. Keys are visited in order so that errors name the
// same param every time.
func flattenTOMLParams(dst map[string]any, prefix string, m map[string]any) error {
	var keyBuf [32]string
	for _, k := range sortedKeys(m, keyBuf[:0]) {
		key := prefix + k
		if sub, ok := m[k].(map[string]any); ok {
			if err := flattenTOMLParams(dst, key+".", sub); err != nil {
				return err
			}
			continue
		}
		v, err := paramValue(m[k], 0)
		if err != nil {
			return fmt.Errorf("decode record: param %q: %w", key, err)
		}
		if _, dup := dst[key]; dup {
			return fmt.Errorf("decode record: param %q is set twice", key)
		}
		dst[key] = v
	}
	return nil
}

// paramValue checks that v, as decoded by the toml package, is one of the
// param value types, and copies arrays so that they are []any.
func paramValue(v any, depth int) (any, error) {
	switch v := v.(type) {
	case int64, float64, bool, string:
		return v, nil
	case []any:
		if depth >= run.MaxParamDepth {
			return nil, fmt.Errorf("arrays nest deeper than %d", run.MaxParamDepth)
		}
		out := make([]any, len(v))
		for i, x := range v {
			y, err := paramValue(x, depth+1)
			if err != nil {
				return nil, err
			}
			out[i] = y
		}
		return out, nil
	default:
		return nil, fmt.Errorf("unsupported value of type %s", tomlType(v))
	}
}

// tomlType names the TOML type of a decoded value for error messages, which
// are read by people who wrote TOML rather than Go.
func tomlType(v any) string {
	switch v.(type) {
	case nil:
		return "missing"
	case int64:
		return "an integer"
	case float64:
		return "a float"
	case bool:
		return "a boolean"
	case string:
		return "a string"
	case time.Time:
		return "a datetime"
	case []any:
		return "an array"
	case []map[string]any:
		return "an array of tables"
	case map[string]any:
		return "a table"
	default:
		return fmt.Sprintf("a %T", v)
	}
}
