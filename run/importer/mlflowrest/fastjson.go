package mlflowrest

import (
	"bytes"
	"math"
	"strconv"
)

// fastHistory decodes a metrics/get-history answer of the usual shape,
// {"metrics":[{"key":..,"value":..,"timestamp":..,"step":..},...],
// "next_page_token":".."}, without encoding/json's reflection and its
// scans of the whole answer. It says !ok for anything else (escapes or
// non-ASCII in a string, a field it does not know, bad syntax), and the
// caller then decodes with encoding/json, whose answer is the reference.
func fastHistory(data []byte) (ms []metricJSON, next string, ok bool) {
	p := &scan{b: data}
	if !p.lit('{') {
		return nil, "", false
	}
	for first := true; ; first = false {
		if p.lit('}') {
			return ms, next, p.end()
		}
		if !first && !p.lit(',') {
			return nil, "", false
		}
		k, ok := p.str()
		if !ok || !p.lit(':') {
			return nil, "", false
		}
		switch string(k) {
		case "metrics":
			if ms, ok = p.metrics(ms); !ok {
				return nil, "", false
			}
		case "next_page_token":
			t, ok := p.str()
			if !ok {
				return nil, "", false
			}
			next = string(t)
		default:
			return nil, "", false
		}
	}
}

// scan reads JSON from b at i.
type scan struct {
	b []byte
	i int
}

func (p *scan) ws() {
	for p.i < len(p.b) && (p.b[p.i] == ' ' || p.b[p.i] == '\n' || p.b[p.i] == '\r' || p.b[p.i] == '\t') {
		p.i++
	}
}

// lit reads the byte c, after white space.
func (p *scan) lit(c byte) bool {
	p.ws()
	if p.i < len(p.b) && p.b[p.i] == c {
		p.i++
		return true
	}
	return false
}

func (p *scan) end() bool {
	p.ws()
	return p.i == len(p.b)
}

// str reads a string of printable ASCII without escapes.
func (p *scan) str() ([]byte, bool) {
	if !p.lit('"') {
		return nil, false
	}
	j := bytes.IndexByte(p.b[p.i:], '"')
	if j < 0 {
		return nil, false
	}
	s := p.b[p.i : p.i+j]
	if bytes.IndexByte(s, '\\') >= 0 {
		return nil, false
	}
	for _, c := range s {
		if c < 0x20 || c >= 0x80 {
			return nil, false // control characters, and UTF-8 encoding/json checks
		}
	}
	p.i += j + 1
	return s, true
}

// number reads a number, bare or quoted.
func (p *scan) number() ([]byte, bool) {
	p.ws()
	if p.i < len(p.b) && p.b[p.i] == '"' {
		return p.str()
	}
	j := p.i
	for j < len(p.b) && (p.b[j] >= '0' && p.b[j] <= '9' || p.b[j] == '-' || p.b[j] == '+' || p.b[j] == '.' || p.b[j] == 'e' || p.b[j] == 'E') {
		j++
	}
	if j == p.i {
		return nil, false
	}
	s := p.b[p.i:j]
	p.i = j
	return s, true
}

func (p *scan) metrics(ms []metricJSON) ([]metricJSON, bool) {
	if p.lit('n') { // null
		return ms, p.i+3 <= len(p.b) && string(p.b[p.i:p.i+3]) == "ull" && p.skip(3)
	}
	if !p.lit('[') {
		return nil, false
	}
	if p.lit(']') {
		return ms, true
	}
	for {
		m, ok := p.metric()
		if !ok {
			return nil, false
		}
		ms = append(ms, m)
		if p.lit(']') {
			return ms, true
		}
		if !p.lit(',') {
			return nil, false
		}
	}
}

func (p *scan) skip(n int) bool { p.i += n; return true }

func (p *scan) metric() (metricJSON, bool) {
	var m metricJSON
	if !p.lit('{') {
		return m, false
	}
	for first := true; ; first = false {
		if p.lit('}') {
			return m, true
		}
		if !first && !p.lit(',') {
			return m, false
		}
		k, ok := p.str()
		if !ok || !p.lit(':') {
			return m, false
		}
		if string(k) == "key" {
			s, ok := p.str()
			if !ok {
				return m, false
			}
			m.Key = string(s)
			continue
		}
		v, ok := p.number()
		if !ok {
			return m, false
		}
		switch string(k) {
		case "value":
			f, ok := parseValue(v)
			if !ok {
				return m, false
			}
			m.Value = f64(f)
		case "timestamp", "step":
			n, err := strconv.ParseInt(string(v), 10, 64)
			if err != nil {
				return m, false
			}
			if k[0] == 't' {
				m.Timestamp = i64{V: n, Set: true}
			} else {
				m.Step = i64{V: n, Set: true}
			}
		default:
			return m, false
		}
	}
}

func parseValue(v []byte) (float64, bool) {
	switch string(v) {
	case "NaN":
		return math.NaN(), true
	case "Infinity":
		return math.Inf(1), true
	case "-Infinity":
		return math.Inf(-1), true
	}
	f, err := strconv.ParseFloat(string(v), 64)
	return f, err == nil
}
