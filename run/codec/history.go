package codec

import (
	"bytes"
	"errors"
	"fmt"
	"math"
	"strings"

	"github.com/gitruns/gitruns/run"
)

// historyHeader is the first line of metrics.tsv, naming its columns for
// people and tools that read the file without git-runs.
const historyHeader = "key\tstep\ttimestamp\tvalue\n"

// EncodeHistory returns h as the text of metrics.tsv: a header line, then one
// line per point of key, step, Unix milliseconds and value, separated by
// tabs. Keys come in byte order and each key's points in logged order, so the
// same history always gives the same bytes. Values are written as the
// shortest decimal that reads back exactly, or nan, inf and -inf.
//
// Valid metric keys hold no tabs, newlines or backslashes. Any other key has
// those escaped as \t, \n, \r and \\ so that the file stays well formed.
func EncodeHistory(h run.History) []byte {
	var keyBuf [32]string
	keys := sortedKeys(h, keyBuf[:0])
	size := len(historyHeader)
	for _, k := range keys {
		// Besides its key a line takes about 40 bytes: a short step, a
		// 13-digit timestamp, up to 20 for the value, and separators.
		// Sizing the buffer once saves copying megabytes as it grows.
		size += len(h[k]) * (len(k) + 40)
	}
	b := make([]byte, 0, size)
	b = append(b, historyHeader...)
	var esc []byte
	// Metrics such as learning rates repeat the same value for many steps;
	// reusing the text of the previous value saves most of their cost.
	lastBits, lastStart, lastEnd := uint64(0), 0, 0
	for _, k := range keys {
		key := k
		if strings.ContainsAny(k, "\t\n\r\\") {
			esc = appendEscapedKey(esc[:0], k)
			key = string(esc)
		}
		for _, p := range h[k] {
			b = append(b, key...)
			b = append(b, '\t')
			b = appendInt(b, p.Step)
			b = append(b, '\t')
			b = appendInt(b, p.Time)
			b = append(b, '\t')
			bits := math.Float64bits(p.Value)
			if bits == lastBits && lastEnd > lastStart {
				b = append(b, b[lastStart:lastEnd]...)
				b = append(b, '\n')
				continue
			}
			start := len(b)
			switch v := p.Value; {
			case v != v:
				b = append(b, "nan"...)
			case math.IsInf(v, 1):
				b = append(b, "inf"...)
			case math.IsInf(v, -1):
				b = append(b, "-inf"...)
			default:
				b = appendFloat(b, v)
			}
			lastBits, lastStart, lastEnd = bits, start, len(b)
			b = append(b, '\n')
		}
	}
	return b
}

// digitPairs holds the two-digit decimal numbers 00 to 99 back to back.
const digitPairs = "00010203040506070809" + "10111213141516171819" + "20212223242526272829" +
	"30313233343536373839" + "40414243444546474849" + "50515253545556575859" +
	"60616263646566676869" + "70717273747576777879" + "80818283848586878889" + "90919293949596979899"

// appendInt writes v in decimal as strconv.AppendInt does, a little faster
// for having only base 10 to handle; metric files hold two integers a point.
func appendInt(b []byte, v int64) []byte {
	u := uint64(v)
	if v < 0 {
		b = append(b, '-')
		u = -u
	}
	var buf [20]byte
	i := len(buf)
	for u >= 100 {
		q := u / 100
		r := (u - q*100) * 2
		i -= 2
		buf[i], buf[i+1] = digitPairs[r], digitPairs[r+1]
		u = q
	}
	if u >= 10 {
		i -= 2
		buf[i], buf[i+1] = digitPairs[u*2], digitPairs[u*2+1]
	} else {
		i--
		buf[i] = byte('0' + u)
	}
	return append(b, buf[i:]...)
}

func appendEscapedKey(b []byte, k string) []byte {
	for i := 0; i < len(k); i++ {
		switch c := k[i]; c {
		case '\t':
			b = append(b, '\\', 't')
		case '\n':
			b = append(b, '\\', 'n')
		case '\r':
			b = append(b, '\\', 'r')
		case '\\':
			b = append(b, '\\', '\\')
		default:
			b = append(b, c)
		}
	}
	return b
}

// DecodeHistory reads the text of metrics.tsv as EncodeHistory writes it;
// the last line may lack its newline. Errors name the line at fault. The
// points of all keys share one allocation, which is what makes reading
// millions of points fast.
//
// Histories arrive from other repositories, so the text is held to the
// limits of docs/FORMAT.md, and what decoding allocates stays within a few
// times its size whatever it holds.
func DecodeHistory(b []byte) (run.History, error) {
	if len(b) > run.MaxHistorySize {
		return nil, fmt.Errorf("decode history: %d bytes, more than %d", len(b), run.MaxHistorySize)
	}
	header := []byte(historyHeader)
	if !bytes.HasPrefix(b, header) {
		if bytes.Equal(b, header[:len(header)-1]) {
			return run.History{}, nil
		}
		return nil, fmt.Errorf("decode history: line 1: expected header %q", header[:len(header)-1])
	}
	b = b[len(header):]
	n := bytes.Count(b, []byte{'\n'})
	if len(b) > 0 && b[len(b)-1] != '\n' {
		n++
	}
	// A point's line takes at least 7 bytes ("\t0\t0\t0\n"), so a file of
	// blank lines cannot make this allocate more than 24/7 of its size.
	n = min(n, len(b)/7+1)
	points := make([]run.Point, 0, n)

	h := run.History{}
	// points[start:] belong to the key whose text in the file is raw.
	var raw []byte
	key, start := "", 0
	flush := func() {
		if len(points) == start {
			return
		}
		// The cap keeps a key's slice from growing into the next key's
		// points should the key appear again further down.
		run := points[start:len(points):len(points)]
		if prev, ok := h[key]; ok {
			run = append(prev, run...)
		}
		h[key] = run
	}
	for line := 2; len(b) > 0; line++ {
		var l []byte
		if i := bytes.IndexByte(b, '\n'); i >= 0 {
			l, b = b[:i], b[i+1:]
		} else {
			l, b = b, nil
		}
		k, p, err := parseHistoryLine(l)
		if err != nil {
			return nil, fmt.Errorf("decode history: line %d: %w", line, err)
		}
		// raw is nil only before the first line, whose key may be empty.
		if raw == nil || !bytes.Equal(k, raw) {
			flush()
			raw, start = k, len(points)
			if len(k) > 2*run.MaxKeyLen {
				return nil, fmt.Errorf("decode history: line %d: key longer than %d bytes", line, run.MaxKeyLen)
			}
			if bytes.IndexByte(k, '\\') >= 0 {
				if key, err = unescapeKey(string(k)); err != nil {
					return nil, fmt.Errorf("decode history: line %d: %w", line, err)
				}
			} else {
				key = string(k)
			}
			if len(key) > run.MaxKeyLen {
				return nil, fmt.Errorf("decode history: line %d: key longer than %d bytes", line, run.MaxKeyLen)
			}
			if _, ok := h[key]; !ok && len(h) >= run.MaxEntries {
				return nil, fmt.Errorf("decode history: line %d: more than %d metrics", line, run.MaxEntries)
			}
		}
		points = append(points, p)
	}
	flush()
	return h, nil
}

// errFields is the error of a line without its four fields.
var errFields = errors.New("expected 4 tab-separated fields")

// parseHistoryLine splits one line of metrics.tsv into its raw key and point.
func parseHistoryLine(l []byte) ([]byte, run.Point, error) {
	var p run.Point
	i := bytes.IndexByte(l, '\t')
	if i < 0 {
		return nil, p, errFields
	}
	key, l := l[:i], l[i+1:]
	i = bytes.IndexByte(l, '\t')
	if i < 0 {
		return nil, p, errFields
	}
	step, l := l[:i], l[i+1:]
	i = bytes.IndexByte(l, '\t')
	if i < 0 {
		return nil, p, errFields
	}
	ts, val := l[:i], l[i+1:]
	var ok bool
	if p.Step, ok = parseInt(step); !ok {
		return nil, p, fmt.Errorf("invalid step %s", shortKey(string(step)))
	}
	if p.Time, ok = parseInt(ts); !ok {
		return nil, p, fmt.Errorf("invalid timestamp %s", shortKey(string(ts)))
	}
	if p.Value, ok = parseHistoryValue(val); !ok {
		return nil, p, fmt.Errorf("invalid value %s", shortKey(string(val)))
	}
	return key, p, nil
}

// parseInt reads a decimal int64 with an optional minus sign, the form
// strconv.AppendInt writes. It is faster than strconv.ParseInt, which also
// handles bases, signs and separators.
func parseInt(s []byte) (int64, bool) {
	neg := false
	if len(s) > 0 && s[0] == '-' {
		neg, s = true, s[1:]
	}
	if len(s) == 0 || len(s) > 19 {
		return 0, false
	}
	var u uint64
	for i := 0; i < len(s); i++ {
		c := s[i] - '0'
		if c > 9 {
			return 0, false
		}
		u = u*10 + uint64(c)
	}
	// 19 digits cannot overflow a uint64, only an int64.
	if neg {
		if u > 1<<63 {
			return 0, false
		}
		return -int64(u), true
	}
	if u > math.MaxInt64 {
		return 0, false
	}
	return int64(u), true
}

// parseHistoryValue reads a value as EncodeHistory writes it.
func parseHistoryValue(s []byte) (float64, bool) {
	// The conversion of a short field to a string stays on the stack.
	f, err := run.ParseFloat(string(s))
	return f, err == nil
}

// unescapeKey undoes appendEscapedKey.
func unescapeKey(s string) (string, error) {
	var b bytes.Buffer
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c != '\\' {
			b.WriteByte(c)
			continue
		}
		i++
		if i == len(s) {
			return "", fmt.Errorf("invalid escape in key %s", shortKey(s))
		}
		switch s[i] {
		case 't':
			b.WriteByte('\t')
		case 'n':
			b.WriteByte('\n')
		case 'r':
			b.WriteByte('\r')
		case '\\':
			b.WriteByte('\\')
		default:
			return "", fmt.Errorf("invalid escape in key %s", shortKey(s))
		}
	}
	return b.String(), nil
}
