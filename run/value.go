package run

import (
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// SameValue reports whether two canonical param values are equal in type
// and value: 10 and 10.0 differ, NaN equals NaN.
func SameValue(a, b any) bool {
	switch x := a.(type) {
	case float64:
		y, ok := b.(float64)
		return ok && (x == y || math.IsNaN(x) && math.IsNaN(y))
	case []any:
		y, ok := b.([]any)
		if !ok || len(x) != len(y) {
			return false
		}
		for i := range x {
			if !SameValue(x[i], y[i]) {
				return false
			}
		}
		return true
	}
	return a == b
}

// FormatValue renders a canonical param value for people: strings quoted,
// floats always with a point or exponent, so that types stay visible.
func FormatValue(v any) string {
	switch x := v.(type) {
	case string:
		return strconv.Quote(x)
	case int64:
		return strconv.FormatInt(x, 10)
	case float64:
		s := string(AppendFloat(nil, x))
		if !strings.ContainsAny(s, ".eEn") { // n: nan, inf
			s += ".0"
		}
		return s
	case bool:
		return strconv.FormatBool(x)
	case []any:
		parts := make([]string, len(x))
		for i, e := range x {
			parts[i] = FormatValue(e)
		}
		return "[" + strings.Join(parts, ", ") + "]"
	}
	return "?"
}

// FormatPlain renders a value as FormatValue does, but strings bare: for
// tables, where quotes are noise.
func FormatPlain(v any) string {
	if s, ok := v.(string); ok {
		return s
	}
	return FormatValue(v)
}

// FormatMetric renders a metric value for people: about five significant
// digits, without an exponent in the everyday range.
func FormatMetric(v float64) string {
	switch {
	case math.IsNaN(v):
		return "nan"
	case math.IsInf(v, 1):
		return "inf"
	case math.IsInf(v, -1):
		return "-inf"
	case v == math.Trunc(v) && math.Abs(v) < 1e15:
		return strconv.FormatFloat(v, 'f', 0, 64)
	}
	a := math.Abs(v)
	if a < 1e-4 || a >= 1e9 {
		return strconv.FormatFloat(v, 'g', 4, 64)
	}
	decimals := 4 - int(math.Floor(math.Log10(a)))
	if decimals < 0 {
		decimals = 0
	}
	s := strconv.FormatFloat(v, 'f', decimals, 64)
	if strings.Contains(s, ".") {
		s = strings.TrimRight(strings.TrimRight(s, "0"), ".")
	}
	return s
}

// NewIDAt returns a new run id for a run that started at t rather than
// now, for importing runs recorded elsewhere. Unlike NewID it does not
// order ids made within one millisecond.
func NewIDAt(t time.Time) string {
	var rnd [10]byte
	rand.Read(rnd[:])
	return IDAt(t, rnd)
}

// IDAt returns the run id of time t whose other 80 bits are rnd: an
// importer makes them from the source's id of a run, so that the run
// has the same id whenever it is imported.
func IDAt(t time.Time, rnd [10]byte) string {
	ms := uint64(t.UnixMilli()) & (1<<48 - 1)
	return formatID(ms, uint64(binary.BigEndian.Uint16(rnd[:2])), binary.BigEndian.Uint64(rnd[2:]))
}

// Merge copies the known (non-zero) fields of o into h: facts learnt about
// the host after the run started add to what was known at the start.
func (h *Host) Merge(o Host) {
	set := func(dst *string, v string) {
		if v != "" {
			*dst = v
		}
	}
	set(&h.Hostname, o.Hostname)
	set(&h.User, o.User)
	set(&h.OS, o.OS)
	set(&h.Arch, o.Arch)
	set(&h.CPU, o.CPU)
	set(&h.Python, o.Python)
	set(&h.PythonExecutable, o.PythonExecutable)
	if o.CPUs != 0 {
		h.CPUs = o.CPUs
	}
	if o.MemoryMiB != 0 {
		h.MemoryMiB = o.MemoryMiB
	}
	if o.GPUs != nil {
		h.GPUs = o.GPUs
	}
	if o.PythonPackages != nil {
		h.PythonPackages = o.PythonPackages
	}
}

// JSONNumber returns v as encoding/json should write it in git-runs'
// JSON: the number itself, or for NaN and the infinities, which JSON has
// no literal for, the strings "NaN", "Infinity" and "-Infinity" that
// AppendJSON writes.
func JSONNumber(v float64) any {
	switch {
	case math.IsNaN(v):
		return "NaN"
	case math.IsInf(v, 1):
		return "Infinity"
	case math.IsInf(v, -1):
		return "-Infinity"
	}
	return v
}

// AppendFloat appends the shortest decimal form of v that reads back
// exactly, or nan, inf or -inf: the form of metric values in journals and
// metrics.tsv.
func AppendFloat(b []byte, v float64) []byte {
	switch {
	case math.IsNaN(v):
		return append(b, "nan"...)
	case math.IsInf(v, 1):
		return append(b, "inf"...)
	case math.IsInf(v, -1):
		return append(b, "-inf"...)
	}
	return strconv.AppendFloat(b, v, 'g', -1, 64)
}

var errNotNumber = errors.New("not a decimal number")

// ParseFloat reads what AppendFloat writes. Only the characters of
// decimal floats are let through to strconv, which would also take
// hexadecimal, digit separators and spellings such as "Infinity": files
// fetched from others are read with it.
func ParseFloat(s string) (float64, error) {
	switch s {
	case "nan":
		return math.NaN(), nil
	case "inf":
		return math.Inf(1), nil
	case "-inf":
		return math.Inf(-1), nil
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; !('0' <= c && c <= '9' || c == '.' || c == 'e' || c == '-' || c == '+') {
			return 0, errNotNumber // s is not named: naming it would make every caller's string escape
		}
	}
	return strconv.ParseFloat(s, 64)
}

// FormatSize writes n bytes as people read sizes: 512 B, 3.2 KiB,
// 24.1 MiB.
func FormatSize(n int64) string {
	switch {
	case n < 1<<10:
		return fmt.Sprintf("%d B", n)
	case n < 1<<20:
		return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	case n < 1<<30:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	}
	return fmt.Sprintf("%.1f GiB", float64(n)/(1<<30))
}
