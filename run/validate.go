package run

import (
	"errors"
	"fmt"
	"math"
	"path"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// maxKeyLen is the longest key, in bytes. Keys become TOML keys, JSON names,
// metric file lines and command-line arguments; a bound keeps all of them
// manageable.
const maxKeyLen = 250

// maxValueLen is the longest string param or tag value, in bytes: run.toml
// is read whole by every listing, so one huge value would slow all of them.
const maxValueLen = 65536

// ValidateKey checks a param, metric or tag key, or an experiment name; kind
// is "param", "metric", "tag" or "experiment" and names what is checked in
// the error.
//
// A key is 1 to 250 bytes of Unicode letters, digits and combining marks
// (which many scripts need) and the characters _ - . / : and space. It may
// not start or end with a space, start with a slash, or contain "..". These
// rules keep keys readable in listings and safe as file names. A param key
// may also not start or end with a dot, as its dots separate the tables of
// run.toml and none of them may be empty. Experiment names follow the rules
// of metric and tag keys.
func ValidateKey(kind, key string) error {
	noun := "key"
	switch kind {
	case "param", "metric", "tag":
	case "experiment":
		noun = "name"
	default:
		return fmt.Errorf("validate key: unknown kind %q", kind)
	}
	if problem := keyProblem(kind, key); problem != "" {
		return fmt.Errorf("invalid %s %s %q: %s", kind, noun, shorten(key), problem)
	}
	return nil
}

// keyProblem says in a few words what is wrong with key, or returns "".
func keyProblem(kind, key string) string {
	switch {
	case key == "":
		return "empty"
	case len(key) > maxKeyLen:
		return fmt.Sprintf("longer than %d bytes", maxKeyLen)
	case !utf8.ValidString(key):
		return "not valid UTF-8"
	}
	for _, r := range key {
		if r < utf8.RuneSelf {
			if 'a' <= r && r <= 'z' || 'A' <= r && r <= 'Z' || '0' <= r && r <= '9' {
				continue
			}
			switch r {
			case '_', '-', '.', '/', ':', ' ':
				continue
			case '\t':
				return "tab is not allowed"
			case '\n':
				return "newline is not allowed"
			}
			return fmt.Sprintf("%q is not allowed", r)
		}
		if !unicode.IsLetter(r) && !unicode.IsDigit(r) && !unicode.IsMark(r) {
			return fmt.Sprintf("%q is not allowed", r)
		}
	}
	switch {
	case key[0] == ' ':
		return "leading space"
	case key[len(key)-1] == ' ':
		return "trailing space"
	case key[0] == '/':
		return "leading slash"
	case strings.Contains(key, ".."):
		return `".." is not allowed`
	case kind == "param" && key[0] == '.':
		return "leading dot"
	case kind == "param" && key[len(key)-1] == '.':
		return "trailing dot"
	}
	return ""
}

// shorten cuts s, at a character boundary, so that an error about a long
// string stays readable.
func shorten(s string) string {
	const max = 64
	if len(s) <= max {
		return s
	}
	n := max
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + "..."
}

// ValidateTagValue checks the value of tag key: at most 65,536 bytes of valid
// UTF-8.
func ValidateTagValue(key, v string) error {
	if len(v) > maxValueLen {
		return fmt.Errorf("tag %q: value longer than %d bytes", key, maxValueLen)
	}
	if !utf8.ValidString(v) {
		return fmt.Errorf("tag %q: value is not valid UTF-8", key)
	}
	return nil
}

// NormalizeParam converts a Go value to the canonical param type it stands
// for: any integer to int64, float32 and float64 to float64, bool, string,
// and any slice or array of such values, nested or not, to []any. Named types
// with those underlying kinds count too.
//
// A float32 becomes the float64 nearest its shortest decimal form, so that
// float32(0.1) is recorded as 0.1 rather than 0.10000000149011612. Strings
// must be valid UTF-8 of at most 65,536 bytes. nil, maps, structs, pointers
// and the like are errors: maps are flattened into dotted keys by
// FlattenParams.
func NormalizeParam(key string, v any) (any, error) {
	return normalizeParam(key, v, 0)
}

func normalizeParam(key string, v any, depth int) (any, error) {
	// The common types are switched on directly: reflection is slower, and
	// most params are one of these.
	switch v := v.(type) {
	case nil:
		return nil, fmt.Errorf("param %q: value is nil", key)
	case int64:
		return v, nil
	case int:
		return int64(v), nil
	case float64:
		return v, nil
	case bool:
		return v, nil
	case string:
		return normalizeString(key, v)
	case []any:
		if depth >= MaxParamDepth {
			return nil, fmt.Errorf("param %q: arrays nest deeper than %d", key, MaxParamDepth)
		}
		out := make([]any, len(v))
		for i, x := range v {
			y, err := normalizeParam(key, x, depth+1)
			if err != nil {
				return nil, err
			}
			out[i] = y
		}
		return out, nil
	}

	rv := reflect.ValueOf(v)
	switch rv.Kind() {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return rv.Int(), nil
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		u := rv.Uint()
		if u > math.MaxInt64 {
			return nil, fmt.Errorf("param %q: %d is too large for a 64-bit signed integer", key, u)
		}
		return int64(u), nil
	case reflect.Float32:
		// Parsing the shortest decimal form cannot fail.
		f, _ := strconv.ParseFloat(strconv.FormatFloat(rv.Float(), 'g', -1, 32), 64)
		return f, nil
	case reflect.Float64:
		return rv.Float(), nil
	case reflect.Bool:
		return rv.Bool(), nil
	case reflect.String:
		return normalizeString(key, rv.String())
	case reflect.Slice, reflect.Array:
		if depth >= MaxParamDepth {
			return nil, fmt.Errorf("param %q: arrays nest deeper than %d", key, MaxParamDepth)
		}
		out := make([]any, rv.Len())
		for i := range out {
			y, err := normalizeParam(key, rv.Index(i).Interface(), depth+1)
			if err != nil {
				return nil, err
			}
			out[i] = y
		}
		return out, nil
	}
	return nil, fmt.Errorf("param %q: unsupported type %T", key, v)
}

func normalizeString(key, s string) (any, error) {
	if len(s) > maxValueLen {
		return nil, fmt.Errorf("param %q: string longer than %d bytes", key, maxValueLen)
	}
	if !utf8.ValidString(s) {
		return nil, fmt.Errorf("param %q: string is not valid UTF-8", key)
	}
	return s, nil
}

// FlattenParams turns nested maps of params into the flat map of dotted keys
// that Record.Params holds: {"optimizer": {"lr": 0.1}} becomes
// {"optimizer.lr": 0.1}. Maps of any type with string keys nest; every other
// value goes through NormalizeParam, and every key through ValidateKey. It is
// an error for a key to be given twice ({"a.b": 1, "a": {"b": 2}}) or to name
// both a value and a table ({"a": 1, "a.b": 2}). Empty nested maps leave no
// key.
func FlattenParams(m map[string]any) (map[string]any, error) {
	out := make(map[string]any, len(m))
	if err := flattenParams(out, "", reflect.ValueOf(m)); err != nil {
		return nil, err
	}
	if a, b, ok := paramConflict(out); ok {
		return nil, fmt.Errorf("param %q conflicts with param %q", b, a)
	}
	return out, nil
}

// flattenParams adds the entries of map m to out under prefix. It visits
// keys in order so that errors are the same from one run to the next.
func flattenParams(out map[string]any, prefix string, m reflect.Value) error {
	keys := m.MapKeys()
	slices.SortFunc(keys, func(a, b reflect.Value) int { return strings.Compare(a.String(), b.String()) })
	for _, k := range keys {
		key := prefix + k.String()
		v := m.MapIndex(k)
		if v.Kind() == reflect.Interface && !v.IsNil() {
			v = v.Elem()
		}
		if v.Kind() == reflect.Map && v.Type().Key().Kind() == reflect.String {
			if err := flattenParams(out, key+".", v); err != nil {
				return err
			}
			continue
		}
		if err := ValidateKey("param", key); err != nil {
			return err
		}
		n, err := NormalizeParam(key, v.Interface())
		if err != nil {
			return err
		}
		if _, dup := out[key]; dup {
			return fmt.Errorf("param %q is given twice", key)
		}
		out[key] = n
	}
	return nil
}

// CheckParamShape reports an error if adding key to params would make one
// key name a table holding another: "a.b" when "a" is set, or the reverse.
// run.toml nests dotted keys into tables and cannot hold both.
func CheckParamShape(params map[string]any, key string) error {
	for i := 0; i < len(key); i++ {
		if key[i] == '.' {
			if _, ok := params[key[:i]]; ok {
				return fmt.Errorf("param %q conflicts with param %q", key, key[:i])
			}
		}
	}
	// Of several conflicting keys the smallest is named, so that the error
	// does not change with map order.
	var found string
	for k := range params {
		if InParamTable(k, key) && (found == "" || k < found) {
			found = k
		}
	}
	if found != "" {
		return fmt.Errorf("param %q conflicts with param %q", key, found)
	}
	return nil
}

// ParseMetricValue reads a metric value given as text: a decimal integer or
// float, with or without an exponent, or nan, inf, +inf, -inf or infinity in
// any case. Hexadecimal floats and digit separators are refused: they are
// valid Go but surprising in a metric.
func ParseMetricValue(s string) (float64, error) {
	if s == "" || strings.ContainsAny(s, "xX_") {
		return 0, fmt.Errorf("metric value %q is not a number", s)
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil {
		if errors.Is(err, strconv.ErrRange) {
			return 0, fmt.Errorf("metric value %q is out of range", s)
		}
		return 0, fmt.Errorf("metric value %q is not a number", s)
	}
	return f, nil
}

// CleanArtifactPath checks a destination path below artifacts/ and returns
// it in clean slash form. Paths that could escape the artifacts tree or
// reach into git's own files are refused.
func CleanArtifactPath(p string) (string, error) {
	q := filepath.ToSlash(p)
	if q == "" || strings.HasPrefix(q, "/") || strings.ContainsAny(q, "\x00\t\n\r\\") {
		return "", fmt.Errorf("invalid artifact path %q", p)
	}
	for _, seg := range strings.Split(q, "/") {
		if seg == "" || seg == "." {
			continue
		}
		if seg == ".." || strings.EqualFold(seg, ".git") {
			return "", fmt.Errorf("invalid artifact path %q: %q is not allowed", p, seg)
		}
	}
	c := path.Clean(q)
	if c == "." {
		return "", fmt.Errorf("invalid artifact path %q", p)
	}
	return c, nil
}

// ValidateName checks a run name: 1 to 250 bytes of UTF-8, no control
// characters, no leading or trailing space, and not a name that RUN
// arguments give another meaning (@, @~N).
func ValidateName(n string) error {
	if n == "" || len(n) > 250 || strings.IndexFunc(n, unicode.IsControl) >= 0 || strings.TrimSpace(n) != n || !utf8.ValidString(n) {
		return fmt.Errorf("invalid run name %q", n)
	}
	if n == "@" || strings.HasPrefix(n, "@~") {
		return fmt.Errorf("invalid run name %q: reserved", n)
	}
	return nil
}
