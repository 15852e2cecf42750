package codec

import (
	"errors"
	"fmt"
	"strings"

	"github.com/gitruns/gitruns/run"
)

// checkTOMLShape refuses TOML text whose keys or values nest deeper than
// the limits of docs/FORMAT.md, before the general decoder reads it: that
// decoder copies the path of every key it reads, so its time and memory
// grow with the depth of each key (a 400 KiB inline table nested 100,000
// deep took it past 11 GB). The scan knows just enough TOML to tell keys
// from values and to skip strings and comments; everything else it leaves
// to the decoder, including the errors of malformed text.
func checkTOMLShape(b []byte) error { return checkTOMLShapeOf(b, "record") }

// checkTOMLShapeOf is checkTOMLShape for a file holding what ("record",
// "experiment"), which its errors name.
func checkTOMLShapeOf(b []byte, what string) error {
	type level struct {
		table bool // an inline table, whose keys nest below base
		base  int  // the depth of the key holding the table
	}
	var stack []level
	base := 0     // key depth of the current table: its header or inline table
	depth := 0    // key depth of the key being read
	inKey := true // reading a key rather than a value
	lineStart := true
	for i := 0; i < len(b); i++ {
		c := b[i]
		switch c {
		case ' ', '\t', '\r':
			continue
		case '\n':
			if len(stack) == 0 {
				inKey, lineStart, depth = true, true, base
			}
			continue
		case '#':
			for i < len(b) && b[i] != '\n' {
				i++
			}
			i--
			continue
		case '"', '\'':
			i = skipTOMLString(b, i) - 1
			if inKey {
				depth = max(depth, base+1)
				if depth > run.MaxKeyDepth {
					return fmt.Errorf("decode %s: keys nest deeper than %d", what, run.MaxKeyDepth)
				}
			}
			lineStart = false
			continue
		}
		if lineStart && len(stack) == 0 && c == '[' {
			// A table header: its segments are the depth of the keys
			// below it.
			n, end := 1, i+1
			for end < len(b) && b[end] != '\n' && b[end] != ']' {
				switch b[end] {
				case '.':
					n++
				case '"', '\'':
					end = skipTOMLString(b, end) - 1
				}
				end++
			}
			if n > run.MaxKeyDepth {
				return fmt.Errorf("decode %s: keys nest deeper than %d", what, run.MaxKeyDepth)
			}
			base, depth, inKey = n, n, true
			for end < len(b) && b[end] != '\n' && b[end] != '#' {
				end++
			}
			i = end - 1
			lineStart = false
			continue
		}
		lineStart = false
		if inKey {
			switch c {
			case '.':
				depth++
			case '=':
				inKey = false
				continue
			case '}':
				// An empty inline table, or one ending after a comma.
			default:
				depth = max(depth, base+1)
			}
			if depth > run.MaxKeyDepth {
				return fmt.Errorf("decode %s: keys nest deeper than %d", what, run.MaxKeyDepth)
			}
			if c != '}' {
				continue
			}
		}
		switch c {
		case '[', '{':
			if len(stack) >= maxValueDepth {
				return fmt.Errorf("decode %s: values nest deeper than %d", what, maxValueDepth)
			}
			stack = append(stack, level{table: c == '{', base: base})
			if c == '{' {
				base, inKey = depth, true
			}
		case ']', '}':
			if len(stack) == 0 {
				continue // the decoder will say what is wrong
			}
			top := stack[len(stack)-1]
			stack = stack[:len(stack)-1]
			base, inKey = top.base, false
			if len(stack) > 0 && stack[len(stack)-1].table {
				depth = base
			}
		case ',':
			if len(stack) > 0 && stack[len(stack)-1].table {
				inKey, depth = true, base
			}
		}
	}
	return nil
}

// maxValueDepth bounds how deeply arrays and inline tables nest in
// run.toml. Arrays cost the general decoder little, so the bound is loose:
// twice what params allow, whose own check gives the better message.
const maxValueDepth = 2 * run.MaxParamDepth

// skipTOMLString returns the index just past the string (basic, literal,
// or either multi-line form) that starts at b[i], or len(b) when it does
// not end.
func skipTOMLString(b []byte, i int) int {
	q := b[i]
	multi := i+2 < len(b) && b[i+1] == q && b[i+2] == q
	if multi {
		i += 3
	} else {
		i++
	}
	for i < len(b) {
		switch c := b[i]; {
		case c == '\\' && q == '"':
			i += 2
			continue
		case c == '\n' && !multi:
			return i // unterminated: the decoder says so
		case c == q:
			if !multi {
				return i + 1
			}
			if i+2 < len(b) && b[i+1] == q && b[i+2] == q {
				// Up to two more quotes may end the string's content.
				i += 3
				for k := 0; k < 2 && i < len(b) && b[i] == q; k++ {
					i++
				}
				return i
			}
		}
		i++
	}
	return len(b)
}

// checkRecord checks a decoded record against the limits of
// docs/FORMAT.md on lengths and counts. The size of run.toml bounds what
// decoding costs; these bound what every later use of the record costs, in
// listings, tables and diffs, and keep a name from filling a terminal.
func checkRecord(r *run.Record) error {
	var c limitChecker
	c.key("name", r.Name)
	c.key("experiment", r.Experiment)
	c.strs("command", r.Command)
	c.str("source.commit", r.Source.Commit)
	c.str("source.branch", r.Source.Branch)
	c.str("source.snapshot", r.Source.Snapshot)
	c.str("source.dir", r.Source.Dir)
	c.strs("source.skipped", r.Source.Skipped)
	h := &r.Host
	c.str("host.hostname", h.Hostname)
	c.str("host.user", h.User)
	c.str("host.os", h.OS)
	c.str("host.arch", h.Arch)
	c.str("host.cpu", h.CPU)
	c.str("host.python", h.Python)
	c.str("host.python_executable", h.PythonExecutable)
	c.strs("host.python_packages", h.PythonPackages)
	if len(h.GPUs) > run.MaxGPUs {
		c.fail(fmt.Errorf("decode record: more than %d GPUs", run.MaxGPUs))
	}
	for _, g := range h.GPUs {
		c.str("host.gpus.name", g.Name)
		c.str("host.gpus.driver", g.Driver)
	}
	c.count("env", len(r.Env))
	for k, v := range r.Env {
		c.key("env", k)
		c.keyed("env", k, v)
	}
	c.count("params", len(r.Params))
	for k, v := range r.Params {
		c.key("param", k)
		c.value(k, v)
	}
	c.count("tags", len(r.Tags))
	for k, v := range r.Tags {
		c.key("tag", k)
		c.keyed("tag", k, v)
	}
	c.count("metrics", len(r.Metrics))
	for k := range r.Metrics {
		c.key("metric", k)
	}
	return c.err
}

// limitChecker keeps the first limit a record breaks.
type limitChecker struct{ err error }

func (c *limitChecker) fail(err error) {
	if c.err == nil {
		c.err = err
	}
}

func (c *limitChecker) key(what, k string) {
	if len(k) > run.MaxKeyLen {
		c.fail(fmt.Errorf("decode record: %s longer than %d bytes", what, run.MaxKeyLen))
	}
}

func (c *limitChecker) str(what, s string) {
	if len(s) > run.MaxStringLen {
		c.fail(fmt.Errorf("decode record: %s longer than %d bytes", what, run.MaxStringLen))
	}
}

// keyed checks the value of key in a table such as [tags].
func (c *limitChecker) keyed(what, key, s string) {
	if len(s) > run.MaxStringLen {
		c.fail(fmt.Errorf("decode record: %s %s longer than %d bytes", what, shortKey(key), run.MaxStringLen))
	}
}

func (c *limitChecker) count(what string, n int) {
	if n > run.MaxEntries {
		c.fail(fmt.Errorf("decode record: more than %d %s", run.MaxEntries, what))
	}
}

func (c *limitChecker) strs(what string, a []string) {
	if len(a) > run.MaxEntries {
		c.fail(fmt.Errorf("decode record: %s has more than %d entries", what, run.MaxEntries))
	}
	for _, s := range a {
		c.str(what, s)
	}
}

func (c *limitChecker) value(key string, v any) {
	switch v := v.(type) {
	case string:
		c.keyed("param", key, v)
	case []any:
		if len(v) > run.MaxEntries {
			c.fail(fmt.Errorf("decode record: param %s has more than %d entries", shortKey(key), run.MaxEntries))
		}
		for _, x := range v {
			c.value(key, x)
		}
	}
}

// shortKey quotes s for an error message, cut to 64 bytes: the message
// must stay one short line whatever a hostile record holds.
func shortKey(s string) string {
	if len(s) > 64 {
		return fmt.Sprintf("%q…", s[:64])
	}
	return fmt.Sprintf("%q", s)
}

// maxErrorLen bounds the text of a decoding error. The general decoder's
// errors quote what they could not read, which a hostile record can make a
// megabyte long; a listing prints the error as one line.
const maxErrorLen = 300

// shortError makes the text of err one line of at most maxErrorLen bytes,
// escaping control characters (the decoder quotes what it read, newlines
// included), and keeps err itself when its text is already such a line.
func shortError(err error) error {
	msg := err.Error()
	clean := len(msg) <= maxErrorLen
	for i := 0; clean && i < len(msg); i++ {
		clean = msg[i] >= 0x20 && msg[i] != 0x7f
	}
	if clean {
		return err
	}
	var b strings.Builder
	for _, r := range msg {
		if b.Len() >= maxErrorLen {
			b.WriteString("…")
			break
		}
		if r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0) {
			fmt.Fprintf(&b, "\\x%02x", r)
			continue
		}
		b.WriteRune(r)
	}
	return errors.New(b.String())
}
