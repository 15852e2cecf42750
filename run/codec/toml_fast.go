package codec

import (
	"math"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/gitruns/gitruns/run"
)

// decodeTOMLFast decodes run.toml text laid out as EncodeTOML writes it, for
// listings that read thousands of records: the general TOML decoder spends
// most of its time building documents that DecodeTOML then takes apart.
//
// It accepts only a subset of TOML whose meaning it fully knows: lines of
// `key = value` ending in "\n" with single spaces around "=", and blank
// lines; the top-level keys, then the [source], [host], [[host.gpus]],
// [env], [params] and [params.x.y], [tags] and [metrics.<key>] tables in
// EncodeTOML's order, the keys of the top level, [source], [host], GPUs and
// metrics in that order too and none that DecodeTOML ignores. Keys are bare
// or basic strings; values are basic strings, decimal integers, floats,
// bools, datetimes in exactly the form appendTime writes, and single-line
// arrays.
// For anything else (comments, other spacing, literal or multi-line strings,
// dotted keys, unknown keys, duplicate keys or tables, values that DecodeTOML
// would refuse) it reports false, and the caller falls back to the general
// decoder, which also produces the error messages. Whatever it accepts, the
// general decoder reads to an equal record.
func decodeTOMLFast(b []byte) (*run.Record, bool) {
	// One copy of the text, so that every string without escapes in the
	// record is a slice of it rather than an allocation of its own.
	p := fastParser{s: string(b)}

	r := &run.Record{}
	if !p.top(r) {
		return nil, false
	}

	// Params are gathered first and put into a map of the right size at the
	// end; their dotted keys are built in one buffer, copied to one string.
	var (
		paramBuf  [32]fastParam
		tagBuf    [16]entry[string]
		envBuf    [16]entry[string]
		metricBuf [16]entry[run.Summary]
		gpuBuf    [4]run.GPU
		arenaBuf  [256]byte
		segBuf    [8]string
	)
	params, tags, env, metrics, gpus, arena := paramBuf[:0], tagBuf[:0], envBuf[:0], metricBuf[:0], gpuBuf[:0], arenaBuf[:0]
	section := sectionTop
	prevHeader := -1 // arena offset of the last params header's path
	prevHeaderEnd := 0
	for p.skipBlank() {
		segs, array, ok := p.header(segBuf[:0])
		if !ok {
			return nil, false
		}
		if array {
			// The only array of tables is [[host.gpus]], whose tables follow
			// [host] directly. TOML allows them elsewhere, before [host] or
			// without it, but EncodeTOML never writes that.
			if len(segs) != 2 || segs[0] != "host" || segs[1] != "gpus" || section != sectionHost && section != sectionGPUs {
				return nil, false
			}
			section = sectionGPUs
			var g run.GPU
			g, ok = p.gpu()
			gpus = append(gpus, g)
			if !ok {
				return nil, false
			}
			continue
		}
		switch {
		case segs[0] == "source" && len(segs) == 1 && section < sectionSource:
			section = sectionSource
			ok = p.source(&r.Source)
		case segs[0] == "host" && len(segs) == 1 && section < sectionHost:
			section = sectionHost
			ok = p.host(&r.Host)
		case segs[0] == "env" && len(segs) == 1 && section < sectionEnv:
			section = sectionEnv
			env, ok = p.tags(env)
		case segs[0] == "params" && section <= sectionParams:
			section = sectionParams
			// The path of the table, each segment followed by its dot, is the
			// prefix of its params' keys. Keys and segments with dots of
			// their own are left to the general decoder, so that a key names
			// one place in the tree and no two tables share a path.
			start := len(arena)
			for _, seg := range segs[1:] {
				if strings.IndexByte(seg, '.') >= 0 {
					return nil, false
				}
				arena = append(arena, seg...)
				arena = append(arena, '.')
			}
			// Tables come in the order EncodeTOML writes them, each once and
			// each after its parents.
			if prevHeader >= 0 && run.CompareParamKeys(arena[prevHeader:prevHeaderEnd], arena[start:]) >= 0 {
				return nil, false
			}
			prevHeader, prevHeaderEnd = start, len(arena)
			params, arena, ok = p.params(params, arena, start, len(arena))
		case segs[0] == "tags" && len(segs) == 1 && section < sectionTags:
			section = sectionTags
			tags, ok = p.tags(tags)
		case segs[0] == "tag_times" && len(segs) == 1 && section < sectionTagTimes:
			section = sectionTagTimes
			r.TagTimes, ok = p.times()
		case segs[0] == "metrics" && len(segs) == 2 && section <= sectionMetrics:
			// Metrics come in key order, which makes each key unique.
			if section == sectionMetrics && segs[1] <= metrics[len(metrics)-1].key {
				return nil, false
			}
			section = sectionMetrics
			var s run.Summary
			s, ok = p.summary()
			metrics = append(metrics, entry[run.Summary]{segs[1], s})
		default:
			return nil, false
		}
		if !ok {
			return nil, false
		}
	}

	if len(gpus) > 0 {
		r.Host.GPUs = append([]run.GPU(nil), gpus...)
	}
	r.Env = make(map[string]string, len(env))
	for _, e := range env {
		r.Env[e.key] = e.val
	}
	if len(r.Env) != len(env) {
		return nil, false // a name set twice
	}

	var keys string
	if len(arena) > 0 {
		keys = string(arena)
	}
	r.Params = make(map[string]any, len(params))
	for _, e := range params {
		r.Params[keys[e.off:e.end]] = e.val
	}
	if len(r.Params) != len(params) {
		return nil, false // a key set twice
	}
	// No param may be a table holding another ("a" and "a.b"): TOML cannot
	// have a value and a table of one name, nor DecodeTOML such params.
	for _, e := range params {
		k := keys[e.off:e.end]
		for i := 0; i < len(k); i++ {
			if k[i] == '.' {
				if _, ok := r.Params[k[:i]]; ok {
					return nil, false
				}
			}
		}
	}
	r.Tags = make(map[string]string, len(tags))
	for _, e := range tags {
		r.Tags[e.key] = e.val
	}
	if len(r.Tags) != len(tags) {
		return nil, false
	}
	r.Metrics = make(map[string]run.Summary, len(metrics))
	for _, e := range metrics {
		r.Metrics[e.key] = e.val
	}
	return r, true
}

// The sections of run.toml, in the order EncodeTOML writes them.
const (
	sectionTop = iota
	sectionSource
	sectionHost
	sectionGPUs
	sectionEnv
	sectionParams
	sectionTags
	sectionTagTimes
	sectionMetrics
)

// fastParam is a param read by decodeTOMLFast: its key is arena[off:end].
type fastParam struct {
	off, end int
	val      any
}

// fastParser reads the canonical layout of run.toml. Its methods report
// false for anything outside it, leaving i wherever they stopped.
type fastParser struct {
	s       string
	i       int
	scratch []byte // for strings with escapes, kept for the next such string
}

// The top-level keys, in the order EncodeTOML writes them.
const (
	topFormat = iota
	topID
	topName
	topExperiment
	topStatus
	topStarted
	topEnded
	topCommand
	topExitCode
	topSignal
	topRerunOf
	topUpdated
	topCheckpoint
)

// top reads the top-level keys, up to the first table header.
func (p *fastParser) top(r *run.Record) bool {
	last, seen := -1, 0
	for p.skipBlank() && p.s[p.i] != '[' {
		k, ok := p.keyEquals()
		if !ok {
			return false
		}
		var key int
		switch k {
		case "format":
			key = topFormat
		case "id":
			key = topID
		case "name":
			key = topName
		case "experiment":
			key = topExperiment
		case "status":
			key = topStatus
		case "started":
			key = topStarted
		case "ended":
			key = topEnded
		case "command":
			key = topCommand
		case "exit_code":
			key = topExitCode
		case "signal":
			key = topSignal
		case "rerun_of":
			key = topRerunOf
		case "updated":
			key = topUpdated
		case "checkpoint_interval":
			key = topCheckpoint
		default:
			return false
		}
		// Keys in order, so also each at most once.
		if key <= last {
			return false
		}
		last = key
		seen |= 1 << key
		switch key {
		case topFormat:
			var n int64
			n, ok = p.integer()
			if n < 1 || n > run.Format {
				return false
			}
			r.Format = int(n)
		case topID:
			r.ID, ok = p.str()
			ok = ok && run.ValidID(r.ID)
		case topName:
			r.Name, ok = p.str()
		case topExperiment:
			r.Experiment, ok = p.str()
		case topStatus:
			var s string
			s, ok = p.str()
			r.Status = run.Status(s)
			ok = ok && r.Status.Valid()
		case topStarted:
			r.Started, ok = p.datetime()
		case topEnded:
			r.Ended, ok = p.datetime()
		case topCommand:
			r.Command, ok = p.strs()
		case topExitCode:
			var n int64
			n, ok = p.integer()
			if int64(int(n)) != n {
				return false
			}
			code := int(n)
			r.ExitCode = &code
		case topSignal:
			// EncodeTOML leaves an empty signal or rerun_of out.
			r.Signal, ok = p.str()
			ok = ok && validSignal(r.Signal)
		case topRerunOf:
			r.RerunOf, ok = p.str()
			ok = ok && run.ValidID(r.RerunOf)
		case topUpdated:
			r.Updated, ok = p.datetime()
		case topCheckpoint:
			var n int64
			n, ok = p.integer()
			ok = ok && n > 0 && n < 1<<31
			r.CheckpointInterval = time.Duration(n) * time.Second
		}
		if !ok || !p.eol() {
			return false
		}
	}
	const required = 1<<topFormat | 1<<topID | 1<<topStatus
	return seen&required == required
}

// fields reads the key = value lines of a table up to the next header.
// field reads the value of key and returns the key's place in the order
// EncodeTOML writes them; keys must come in that order, so each at most
// once.
func (p *fastParser) fields(field func(key string) (int, bool)) bool {
	last := -1
	for p.skipBlank() && p.s[p.i] != '[' {
		k, ok := p.keyEquals()
		if !ok {
			return false
		}
		key, ok := field(k)
		if !ok || key <= last || !p.eol() {
			return false
		}
		last = key
	}
	return true
}

// source reads the keys of [source].
func (p *fastParser) source(src *run.Source) bool {
	return p.fields(func(k string) (key int, ok bool) {
		switch k {
		case "commit":
			src.Commit, ok = p.str()
			return 0, ok
		case "branch":
			src.Branch, ok = p.str()
			return 1, ok
		case "dirty":
			src.Dirty, ok = p.boolean()
			return 2, ok
		case "snapshot":
			src.Snapshot, ok = p.str()
			return 3, ok
		case "skipped":
			src.Skipped, ok = p.strs()
			return 4, ok
		case "dir":
			src.Dir, ok = p.str()
			return 5, ok
		}
		return 0, false
	})
}

// host reads the keys of [host].
func (p *fastParser) host(h *run.Host) bool {
	return p.fields(func(k string) (key int, ok bool) {
		switch k {
		case "hostname":
			h.Hostname, ok = p.str()
			return 0, ok
		case "user":
			h.User, ok = p.str()
			return 1, ok
		case "os":
			h.OS, ok = p.str()
			return 2, ok
		case "arch":
			h.Arch, ok = p.str()
			return 3, ok
		case "cpu":
			h.CPU, ok = p.str()
			return 4, ok
		case "cpus":
			var n int64
			n, ok = p.integer()
			h.CPUs = int(n)
			return 5, ok && int64(h.CPUs) == n
		case "memory_mib":
			h.MemoryMiB, ok = p.integer()
			return 6, ok
		case "python":
			h.Python, ok = p.str()
			return 7, ok
		case "python_executable":
			h.PythonExecutable, ok = p.str()
			return 8, ok
		case "python_packages":
			h.PythonPackages, ok = p.strs()
			return 9, ok
		}
		return 0, false
	})
}

// gpu reads the keys of a [[host.gpus]] table.
func (p *fastParser) gpu() (run.GPU, bool) {
	var g run.GPU
	ok := p.fields(func(k string) (key int, ok bool) {
		switch k {
		case "name":
			g.Name, ok = p.str()
			return 0, ok
		case "memory_mib":
			g.MemoryMiB, ok = p.integer()
			return 1, ok
		case "driver":
			g.Driver, ok = p.str()
			return 2, ok
		}
		return 0, false
	})
	return g, ok
}

// params reads the values of a params table whose path, as the prefix of
// its keys, is arena[start:end], appending each key to arena and each param
// to dst.
func (p *fastParser) params(dst []fastParam, arena []byte, start, end int) ([]fastParam, []byte, bool) {
	n := 0
	for p.skipBlank() && p.s[p.i] != '[' {
		k, ok := p.keyEquals()
		if !ok || strings.IndexByte(k, '.') >= 0 {
			return dst, arena, false
		}
		v, ok := p.paramValue(0)
		if !ok || !p.eol() {
			return dst, arena, false
		}
		off := len(arena)
		arena = append(arena, arena[start:end]...)
		arena = append(arena, k...)
		dst = append(dst, fastParam{off, len(arena), v})
		n++
	}
	// EncodeTOML writes no empty tables. Refusing them means every table
	// holds a param, so that a table named like a param ("a" and [params.a])
	// shows as two params of which one holds the other.
	return dst, arena, n > 0
}

// tags reads the values of [tags] or [env], which are all strings.
func (p *fastParser) tags(dst []entry[string]) ([]entry[string], bool) {
	for p.skipBlank() && p.s[p.i] != '[' {
		k, ok := p.keyEquals()
		if !ok {
			return dst, false
		}
		v, ok := p.str()
		if !ok || !p.eol() {
			return dst, false
		}
		dst = append(dst, entry[string]{k, v})
	}
	return dst, true
}

// times reads the values of [tag_times], which are all datetimes.
func (p *fastParser) times() (map[string]time.Time, bool) {
	m := map[string]time.Time{}
	for p.skipBlank() && p.s[p.i] != '[' {
		k, ok := p.keyEquals()
		if !ok {
			return nil, false
		}
		t, ok := p.datetime()
		if _, dup := m[k]; !ok || dup || !p.eol() {
			return nil, false
		}
		m[k] = t
	}
	return m, true
}

// summary reads the values of a [metrics.<key>] table.
func (p *fastParser) summary() (run.Summary, bool) {
	var s run.Summary
	ok := p.fields(func(k string) (key int, ok bool) {
		switch k {
		case "last":
			s.Last, ok = p.float()
			return 0, ok
		case "step":
			s.Step, ok = p.integer()
			return 1, ok
		case "min":
			s.Min, ok = p.float()
			return 2, ok
		case "max":
			s.Max, ok = p.float()
			return 3, ok
		case "count":
			s.Count, ok = p.integer()
			return 4, ok
		case "time":
			s.Time, ok = p.integer()
			return 5, ok
		}
		return 0, false
	})
	return s, ok
}

// skipBlank moves past empty lines and reports whether any text is left.
func (p *fastParser) skipBlank() bool {
	for p.i < len(p.s) && p.s[p.i] == '\n' {
		p.i++
	}
	return p.i < len(p.s)
}

// eol moves past the newline that must end a line.
func (p *fastParser) eol() bool {
	if p.i < len(p.s) && p.s[p.i] == '\n' {
		p.i++
		return true
	}
	return false
}

// header reads a table header line, [a.b] or, for an array of tables,
// [[a.b]], appending its key segments to segs.
func (p *fastParser) header(segs []string) (_ []string, array, ok bool) {
	if p.i >= len(p.s) || p.s[p.i] != '[' {
		return segs, false, false
	}
	p.i++
	if p.i < len(p.s) && p.s[p.i] == '[' {
		array = true
		p.i++
	}
	for {
		k, ok := p.key()
		if !ok || p.i >= len(p.s) {
			return segs, array, false
		}
		segs = append(segs, k)
		if len(segs) > run.MaxKeyDepth {
			return segs, array, false // the general decoder's error
		}
		switch p.s[p.i] {
		case '.':
			p.i++
		case ']':
			p.i++
			if array {
				if p.i >= len(p.s) || p.s[p.i] != ']' {
					return segs, array, false
				}
				p.i++
			}
			return segs, array, p.eol()
		default:
			return segs, array, false
		}
	}
}

// keyEquals reads a key and the " = " after it.
func (p *fastParser) keyEquals() (string, bool) {
	k, ok := p.key()
	if !ok || !strings.HasPrefix(p.s[p.i:], " = ") {
		return "", false
	}
	p.i += 3
	return k, true
}

// bareKeyChars tells which bytes may make up a bare key.
var bareKeyChars = func() (t [256]bool) {
	for c := range t {
		t[c] = 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '_' || c == '-'
	}
	return t
}()

// key reads a bare or quoted key.
func (p *fastParser) key() (string, bool) {
	if p.i < len(p.s) && p.s[p.i] == '"' {
		return p.str()
	}
	// Locals, as the loop would otherwise store p.i on every byte.
	s, start := p.s, p.i
	i := start
	for i < len(s) && bareKeyChars[s[i]] {
		i++
	}
	p.i = i
	return s[start:i], i > start
}

// str reads a basic string. Strings without escapes, the common case, are
// slices of the text.
func (p *fastParser) str() (string, bool) {
	s, i := p.s, p.i
	if i >= len(s) || s[i] != '"' {
		return "", false
	}
	i++
	start := i
	for i < len(s) {
		c := s[i]
		if tomlPlain[c] {
			i++
			continue
		}
		switch {
		case c == '"':
			p.i = i + 1
			return s[start:i], true
		case c == '\\':
			return p.strEscaped(start, i)
		case c >= utf8.RuneSelf:
			r, size := utf8.DecodeRuneInString(s[i:])
			if r == utf8.RuneError && size == 1 {
				return "", false // TOML text must be UTF-8
			}
			i += size
		default:
			return "", false // control characters must be escaped
		}
	}
	return "", false
}

// strEscaped goes on reading the basic string that starts at start from
// its first backslash at i, decoding the escapes.
func (p *fastParser) strEscaped(start, i int) (string, bool) {
	s := p.s
	b := append(p.scratch[:0], s[start:i]...)
	for i < len(s) {
		c := s[i]
		if tomlPlain[c] {
			j := i + 1
			for j < len(s) && tomlPlain[s[j]] {
				j++
			}
			b = append(b, s[i:j]...)
			i = j
			continue
		}
		switch {
		case c == '"':
			p.i = i + 1
			p.scratch = b[:0]
			return string(b), true
		case c == '\\':
			if i+1 >= len(s) {
				return "", false
			}
			n := 2
			switch s[i+1] {
			case 'b':
				b = append(b, '\b')
			case 't':
				b = append(b, '\t')
			case 'n':
				b = append(b, '\n')
			case 'f':
				b = append(b, '\f')
			case 'r':
				b = append(b, '\r')
			case '"':
				b = append(b, '"')
			case '\\':
				b = append(b, '\\')
			case 'u', 'U':
				digits := 4
				if s[i+1] == 'U' {
					digits = 8
				}
				r, ok := hexRune(s[i+2:], digits)
				if !ok {
					return "", false
				}
				b = utf8.AppendRune(b, r)
				n += digits
			default:
				// Including \e and \x, which only TOML 1.1 has.
				return "", false
			}
			i += n
		case c >= utf8.RuneSelf:
			r, size := utf8.DecodeRuneInString(s[i:])
			if r == utf8.RuneError && size == 1 {
				return "", false
			}
			b = append(b, s[i:i+size]...)
			i += size
		default:
			return "", false
		}
	}
	return "", false
}

// hexRune reads the code point of a \u or \U escape from the first n bytes
// of s, which must be hex digits naming a Unicode scalar value.
func hexRune(s string, n int) (rune, bool) {
	if len(s) < n {
		return 0, false
	}
	var v uint32
	for i := 0; i < n; i++ {
		c := s[i]
		switch {
		case '0' <= c && c <= '9':
			c -= '0'
		case 'a' <= c && c <= 'f':
			c -= 'a' - 10
		case 'A' <= c && c <= 'F':
			c -= 'A' - 10
		default:
			return 0, false
		}
		v = v<<4 | uint32(c)
	}
	if v > utf8.MaxRune || !utf8.ValidRune(rune(v)) {
		return 0, false
	}
	return rune(v), true
}

// strs reads an array of strings, giving nil for an empty one as DecodeTOML
// does.
func (p *fastParser) strs() ([]string, bool) {
	if !strings.HasPrefix(p.s[p.i:], "[") {
		return nil, false
	}
	p.i++
	if p.i < len(p.s) && p.s[p.i] == ']' {
		p.i++
		return nil, true
	}
	var buf [16]string
	a := buf[:0]
	for {
		s, ok := p.str()
		if !ok {
			return nil, false
		}
		a = append(a, s)
		if ok, more := p.arraySep(); !ok {
			return nil, false
		} else if !more {
			break
		}
	}
	return append([]string(nil), a...), true
}

// arraySep reads what follows an array element: ", " before another element
// or "]" closing the array.
func (p *fastParser) arraySep() (ok, more bool) {
	switch {
	case strings.HasPrefix(p.s[p.i:], ", "):
		p.i += 2
		return true, true
	case strings.HasPrefix(p.s[p.i:], "]"):
		p.i++
		return true, false
	}
	return false, false
}

// paramValue reads a param value: a string, number, bool or array of these,
// the array at most run.MaxParamDepth deep as DecodeTOML requires.
func (p *fastParser) paramValue(depth int) (any, bool) {
	if p.i >= len(p.s) {
		return nil, false
	}
	switch p.s[p.i] {
	case '"':
		s, ok := p.str()
		return s, ok
	case 't', 'f':
		b, ok := p.boolean()
		return b, ok
	case '[':
		if depth >= run.MaxParamDepth {
			return nil, false
		}
		p.i++
		if p.i < len(p.s) && p.s[p.i] == ']' {
			p.i++
			return []any{}, true // not nil, as DecodeTOML gives
		}
		var buf [8]any
		a := buf[:0]
		for {
			v, ok := p.paramValue(depth + 1)
			if !ok {
				return nil, false
			}
			a = append(a, v)
			if ok, more := p.arraySep(); !ok {
				return nil, false
			} else if !more {
				break
			}
		}
		return append([]any(nil), a...), true
	}
	n, f, isFloat, ok := p.number()
	switch {
	case !ok:
		return nil, false
	case isFloat:
		return f, true
	}
	return n, true
}

// boolean reads true or false.
func (p *fastParser) boolean() (bool, bool) {
	switch rest := p.s[p.i:]; {
	case strings.HasPrefix(rest, "true"):
		p.i += 4
		return true, true
	case strings.HasPrefix(rest, "false"):
		p.i += 5
		return false, true
	}
	return false, false
}

// integer reads an integer.
func (p *fastParser) integer() (int64, bool) {
	n, _, isFloat, ok := p.number()
	return n, ok && !isFloat
}

// float reads a float or, as DecodeTOML accepts for floats, an integer.
func (p *fastParser) float() (float64, bool) {
	n, f, isFloat, ok := p.number()
	if !isFloat {
		f = float64(n)
	}
	return f, ok
}

// number reads a decimal integer or float: an optional minus, an integer
// part without leading zeros, then an optional fraction and exponent, or
// nan, inf or -inf. Plus signs, underscores, other bases and -nan are left
// to the general decoder. The digits are converted by the same strconv
// functions as there, so the values are the same.
func (p *fastParser) number() (n int64, f float64, isFloat, ok bool) {
	s := p.s
	start, i := p.i, p.i
	if i < len(s) && s[i] == '-' {
		i++
	}
	if i >= len(s) {
		return 0, 0, false, false
	}
	switch c := s[i]; {
	case c == 'i':
		if !strings.HasPrefix(s[i:], "inf") {
			return 0, 0, false, false
		}
		p.i = i + 3
		if i > start {
			return 0, math.Inf(-1), true, true
		}
		return 0, math.Inf(1), true, true
	case c == 'n':
		if i > start || !strings.HasPrefix(s[i:], "nan") {
			return 0, 0, false, false
		}
		p.i = i + 3
		return 0, math.NaN(), true, true
	case c == '0':
		i++
	case '1' <= c && c <= '9':
		i++
		for i < len(s) && '0' <= s[i] && s[i] <= '9' {
			i++
		}
	default:
		return 0, 0, false, false
	}
	if i < len(s) && s[i] == '.' {
		i++
		d := i
		for i < len(s) && '0' <= s[i] && s[i] <= '9' {
			i++
		}
		if i == d {
			return 0, 0, false, false
		}
		isFloat = true
	}
	if i < len(s) && (s[i] == 'e' || s[i] == 'E') {
		i++
		if i < len(s) && (s[i] == '+' || s[i] == '-') {
			i++
		}
		d := i
		for i < len(s) && '0' <= s[i] && s[i] <= '9' {
			i++
		}
		if i == d {
			return 0, 0, false, false
		}
		isFloat = true
	}
	p.i = i
	if isFloat {
		f, err := strconv.ParseFloat(s[start:i], 64)
		return 0, f, true, err == nil
	}
	n, err := strconv.ParseInt(s[start:i], 10, 64)
	return n, 0, false, err == nil
}

// datetime reads a time in exactly the form appendTime writes,
// 2006-01-02T15:04:05.000Z, checking the fields as time.Parse does.
func (p *fastParser) datetime() (time.Time, bool) {
	const layout = "dddd-dd-ddTdd:dd:dd.dddZ"
	s := p.s[p.i:]
	if len(s) < len(layout) {
		return time.Time{}, false
	}
	for i := 0; i < len(layout); i++ {
		if layout[i] == 'd' {
			if s[i] < '0' || s[i] > '9' {
				return time.Time{}, false
			}
		} else if s[i] != layout[i] {
			return time.Time{}, false
		}
	}
	num := func(i, n int) int {
		v := 0
		for _, c := range []byte(s[i : i+n]) {
			v = v*10 + int(c-'0')
		}
		return v
	}
	year, month, day := num(0, 4), num(5, 2), num(8, 2)
	hour, minute, sec, ms := num(11, 2), num(14, 2), num(17, 2), num(20, 3)
	if month < 1 || month > 12 || day < 1 || day > daysIn(month, year) || hour > 23 || minute > 59 || sec > 59 {
		return time.Time{}, false
	}
	p.i += len(layout)
	return time.Date(year, time.Month(month), day, hour, minute, sec, ms*int(time.Millisecond), time.UTC), true
}

// daysIn returns the number of days in a month of the proleptic Gregorian
// calendar that time uses.
func daysIn(month, year int) int {
	switch month {
	case 2:
		if year%4 == 0 && (year%100 != 0 || year%400 == 0) {
			return 29
		}
		return 28
	case 4, 6, 9, 11:
		return 30
	}
	return 31
}
