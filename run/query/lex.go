package query

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// tokKind says what a token is.
type tokKind int

const (
	tEOF tokKind = iota
	tIdent
	tString
	tNumber
	tRel // a number with a time unit: -7d
	tOp
	tLParen
	tRParen
	tComma
)

// segment is one dot-separated part of an identifier. Whether it was
// back-quoted matters: a quoted last part is never a metric summary word.
type segment struct {
	text   string
	quoted bool
}

// token is one lexical unit, with its byte offset for error columns.
type token struct {
	kind tokKind
	pos  int
	src  string    // the text as written
	segs []segment // tIdent
	str  string    // tString: the unquoted value; tOp: the operator
	num  float64   // tNumber
	i    int64     // tNumber when isInt
	int  bool      // tNumber written as an integer that fits int64
	rel  time.Duration
}

// syntaxError carries the byte offset that the message is about; Parse
// turns it into a column.
type syntaxError struct {
	pos int
	msg string
}

func (e *syntaxError) Error() string { return e.msg }

func errAt(pos int, format string, args ...any) error {
	return &syntaxError{pos, fmt.Sprintf(format, args...)}
}

// describe names a token for "found ..." in messages.
func (t token) describe() string {
	if t.kind == tEOF {
		return "end of input"
	}
	return strconv.Quote(t.src)
}

// isIdentRune reports whether r may appear in an unquoted name part. The
// printer uses the same test to decide when to back-quote.
func isIdentRune(r rune) bool {
	return r == '_' || unicode.IsLetter(r) || unicode.IsDigit(r)
}

func isIdentStart(r rune) bool {
	return r == '_' || unicode.IsLetter(r)
}

// lex splits s into tokens, ending with a tEOF token.
func lex(s string) ([]token, error) {
	var toks []token
	i := 0
	for {
		for i < len(s) {
			r, n := utf8.DecodeRuneInString(s[i:])
			if !unicode.IsSpace(r) {
				break
			}
			i += n
		}
		if i >= len(s) {
			return append(toks, token{kind: tEOF, pos: len(s)}), nil
		}
		start := i
		r, n := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && n == 1:
			return nil, errAt(i, "invalid UTF-8")
		case r == '(':
			toks = append(toks, token{kind: tLParen, pos: i, src: "("})
			i++
		case r == ')':
			toks = append(toks, token{kind: tRParen, pos: i, src: ")"})
			i++
		case r == ',':
			toks = append(toks, token{kind: tComma, pos: i, src: ","})
			i++
		case r == '=' || r == '!' || r == '<' || r == '>':
			op := s[i : i+1]
			if i+1 < len(s) {
				switch two := s[i : i+2]; two {
				case "==", "!=", "<=", ">=", "<>":
					op = two
				}
			}
			if op == "!" {
				return nil, errAt(i, `expected "=" after "!", found %s`, describeAt(s, i+1))
			}
			i += len(op)
			canon := op
			switch op {
			case "==":
				canon = "="
			case "<>":
				canon = "!="
			}
			toks = append(toks, token{kind: tOp, pos: start, src: op, str: canon})
		case r == '\'' || r == '"':
			t, err := lexString(s, i)
			if err != nil {
				return nil, err
			}
			toks = append(toks, t)
			i += len(t.src)
		case r == '-' || r == '.' || (r >= '0' && r <= '9'):
			t, err := lexNumber(s, i)
			if err != nil {
				return nil, err
			}
			toks = append(toks, t)
			i += len(t.src)
		case r == '`' || isIdentStart(r):
			t, err := lexIdent(s, i)
			if err != nil {
				return nil, err
			}
			toks = append(toks, t)
			i += len(t.src)
		default:
			return nil, errAt(i, "unexpected %q", r)
		}
	}
}

// describeAt names what starts at byte i of s, for messages about a
// token that could not be completed.
func describeAt(s string, i int) string {
	if i >= len(s) {
		return "end of input"
	}
	r, _ := utf8.DecodeRuneInString(s[i:])
	return strconv.Quote(string(r))
}

// lexString reads a quoted string. As in SQL, the quote character is
// written twice to include it; backslashes have no special meaning so
// that Windows paths need no escaping.
func lexString(s string, start int) (token, error) {
	v, end, ok := unquote(s, start)
	if !ok {
		return token{}, errAt(start, "unterminated string")
	}
	if !utf8.ValidString(v) {
		return token{}, errAt(start, "invalid UTF-8 in string")
	}
	return token{kind: tString, pos: start, src: s[start:end], str: v}, nil
}

// unquote reads the text between the quote character at s[start] and its
// closing twin, a doubled quote standing for one, and returns it with the
// index just after the closing quote; ok is false when there is none.
func unquote(s string, start int) (v string, end int, ok bool) {
	q := s[start]
	var b strings.Builder
	i := start + 1
	for {
		j := strings.IndexByte(s[i:], q)
		if j < 0 {
			return "", 0, false
		}
		b.WriteString(s[i : i+j])
		i += j + 1
		if i < len(s) && s[i] == q {
			b.WriteByte(q)
			i++
			continue
		}
		return b.String(), i, true
	}
}

var relUnits = map[byte]time.Duration{
	's': time.Second,
	'm': time.Minute,
	'h': time.Hour,
	'd': 24 * time.Hour,
	'w': 7 * 24 * time.Hour,
}

// lexNumber reads a number, optionally followed by a time unit which
// makes it a relative time.
func lexNumber(s string, start int) (token, error) {
	i := start
	if s[i] == '-' {
		i++
	}
	digits := func() int {
		j := i
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			i++
		}
		return i - j
	}
	n := digits()
	isInt := true
	if i < len(s) && s[i] == '.' {
		isInt = false
		i++
		n += digits()
	}
	if n == 0 {
		return token{}, errAt(start, "expected a number, found %s", describeAt(s, start))
	}
	if i < len(s) && (s[i] == 'e' || s[i] == 'E') {
		isInt = false
		i++
		if i < len(s) && (s[i] == '+' || s[i] == '-') {
			i++
		}
		if digits() == 0 {
			return token{}, errAt(start, "malformed number %q", s[start:i])
		}
	}
	text := s[start:i]
	var unit time.Duration
	if i < len(s) {
		if u, ok := relUnits[s[i]]; ok {
			unit = u
			i++
		}
	}
	if i < len(s) {
		if r, _ := utf8.DecodeRuneInString(s[i:]); isIdentRune(r) || r == '.' || r == '`' {
			return token{}, errAt(start, "malformed number %q", s[start:i+utf8.RuneLen(r)])
		}
	}
	f, err := strconv.ParseFloat(text, 64)
	if err != nil || math.IsInf(f, 0) {
		return token{}, errAt(start, "number %s out of range", text)
	}
	t := token{kind: tNumber, pos: start, src: s[start:i], num: f}
	if unit != 0 {
		d := f * float64(unit)
		if math.Abs(d) >= math.MaxInt64 {
			return token{}, errAt(start, "relative time %s out of range", t.src)
		}
		t.kind, t.rel = tRel, time.Duration(d)
		return t, nil
	}
	if isInt {
		if v, err := strconv.ParseInt(text, 10, 64); err == nil {
			t.i, t.int = v, true
		}
	}
	return t, nil
}

// lexIdent reads a dotted identifier whose parts may be quoted; the
// quote inside a quoted part is written twice.
func lexIdent(s string, start int) (token, error) {
	var segs []segment
	i := start
	for {
		// MLflow also accepts double quotes around a name part after a
		// dot (tags."mlflow.note"); a value never follows a dot, so this
		// cannot be mistaken for a string.
		if i < len(s) && (s[i] == '`' || s[i] == '"' && len(segs) > 0) {
			name, j, ok := unquote(s, i)
			switch {
			case !ok:
				return token{}, errAt(i, "unterminated quoted name")
			case name == "":
				return token{}, errAt(i, "empty quoted name")
			case !utf8.ValidString(name):
				return token{}, errAt(i, "invalid UTF-8 in name")
			}
			segs = append(segs, segment{name, true})
			i = j
		} else {
			j := i
			for j < len(s) {
				r, n := utf8.DecodeRuneInString(s[j:])
				if !isIdentRune(r) {
					break
				}
				j += n
			}
			if j == i {
				return token{}, errAt(i, "expected a name after \".\", found %s", describeAt(s, i))
			}
			segs = append(segs, segment{s[i:j], false})
			i = j
		}
		if i < len(s) && s[i] == '.' {
			i++
			continue
		}
		return token{kind: tIdent, pos: start, src: s[start:i], segs: segs}, nil
	}
}
