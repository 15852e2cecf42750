// Package query implements the expressions of `git runs ls --where EXPR`
// and the keys of `--sort KEY`.
//
// # Syntax
//
// The language is MLflow's search syntax, extended with or, not and
// parentheses:
//
//	metrics.acc > 0.9 and params.model = 'rf'
//	tags.team = 'vision' or not attributes.status = 'finished'
//	params.opt LIKE 'ad%' and tags.owner ILIKE 'ALICE%'
//	attributes.run_id IN ('a', 'b') and params.model NOT IN ('rf')
//	metrics.`val/acc` >= 0.5 and started > -7d
//
// In LIKE and ILIKE patterns % stands for any text and _ for any one
// character; ILIKE ignores case. NOT LIKE and NOT ILIKE negate them.
// Keywords (and, or, not, in, like, ilike, true, false) are
// case-insensitive. Precedence is not, then and, then or; parentheses
// group. The comparison operators are = != < <= > >=; == and <> are
// accepted as = and !=.
//
// # Keys
//
// A key is metrics.NAME (or metric.), params.NAME (or param.), tags.NAME
// (or tag.), attributes.NAME (or attribute., attr.) or a bare attribute
// name. Attributes are run_id (id), run_name (name), experiment, status,
// started (start_time), ended (end_time), duration (seconds, up to now for
// a running run), commit, branch, dirty (a boolean) and parent (parent_id,
// parent_run_id: the id of the run a run is part of, its tag
// mlflow.parentRunId). Names are dotted:
// params.optimizer.lr is the param "optimizer.lr". Parts of a name with
// characters other than letters, digits and _ are back-quoted (or, after
// the first dot, double-quoted as MLflow allows), the quote character
// being written twice inside.
//
// metrics.NAME is the metric's last value. A name ending in .min, .max,
// .count, .last or .step selects that summary field instead, unless the
// run has a metric with the whole name: metrics.train.loss is the metric
// "train.loss", and metrics.train.loss.min its minimum. A back-quoted last
// part is never a summary word (metrics.`loss.min` is only the metric
// "loss.min").
//
// # Values
//
// Values are numbers (10, -0.5, 1e-3), strings in single or double quotes
// (a quote written twice stands for itself; backslash is an ordinary
// character), true and false, and, for started, ended and duration,
// relative times: a number with a unit s, m, h, d or w. For started and
// ended a relative time counts from now (-7d is seven days ago); for
// duration it is a length (duration > 1h). started and ended also take
// RFC 3339 times and dates in quotes ('2026-11-27T10:00:00Z',
// '2026-11-27'); a date stands for the whole UTC day, so started =
// '2026-11-27' matches runs started that day and started > '2026-11-27'
// those started after it. Plain numbers are Unix milliseconds, as in
// MLflow. Statuses compare in any case ('FINISHED' is 'finished').
//
// # Comparison
//
// Metrics are numbers and compare only with numbers. Tags and the string
// attributes compare only with strings (lexically for < and >). dirty
// compares with true and false using = and != only.
//
// Params keep their types. With < <= > >= a numeric param compares
// numerically with a number (integers and floats mix freely) and a string
// param lexically with a string; any other pairing is an error. With =,
// != and IN a param equals a value when both are numbers of equal value,
// or when one is a number and the other a string that reads as a number
// of that value (params.lr = '0.01' matches the float 0.01, params.epochs
// = 10 matches the integer 10 and the string "10"); otherwise they compare
// as text, the param written as in tables: strings bare, true and false,
// lists as [1, 2]. LIKE and ILIKE match that text form too.
//
// A run that lacks the key, or whose value is NaN, matches no comparison,
// not even != or NOT IN. not inverts the result, so not metrics.acc > 0.5
// matches runs without the metric acc, while metrics.acc <= 0.5 does not.
// Empty string attributes (no branch when detached, no end time while
// running) count as absent.
package query

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/gitruns/gitruns/run"
)

// Expr is a parsed expression. String prints it back in canonical form:
// lower-case keywords, canonical keys, single-quoted strings and only the
// parentheses precedence needs.
type Expr interface{ String() string }

// Parse parses a --where expression.
func Parse(s string) (Expr, error) {
	toks, err := lex(s)
	if err != nil {
		return nil, wrap(s, err)
	}
	p := &parser{toks: toks}
	e, err := p.or()
	if err == nil && p.peek().kind != tEOF {
		t := p.peek()
		err = errAt(t.pos, "expected and, or or end of input, found %s", t.describe())
	}
	if err != nil {
		return nil, wrap(s, err)
	}
	return e, nil
}

// wrap adds the package prefix and the column to a syntax error.
func wrap(s string, err error) error {
	if se, ok := err.(*syntaxError); ok {
		return fmt.Errorf("query: at column %d: %s", column(s, se.pos), se.msg)
	}
	return fmt.Errorf("query: %w", err)
}

type parser struct {
	toks []token
	i    int
}

func (p *parser) peek() token { return p.toks[p.i] }

func (p *parser) next() token {
	t := p.toks[p.i]
	if t.kind != tEOF {
		p.i++
	}
	return t
}

// keyword reports whether t is the unquoted keyword kw.
func keyword(t token, kw string) bool {
	return t.kind == tIdent && len(t.segs) == 1 && !t.segs[0].quoted && strings.EqualFold(t.segs[0].text, kw)
}

func isKeyword(t token) bool {
	for _, kw := range [...]string{"and", "or", "not", "in", "like", "ilike", "true", "false"} {
		if keyword(t, kw) {
			return true
		}
	}
	return false
}

func (p *parser) or() (Expr, error) {
	l, err := p.and()
	if err != nil {
		return nil, err
	}
	for keyword(p.peek(), "or") {
		p.next()
		r, err := p.and()
		if err != nil {
			return nil, err
		}
		l = &binExpr{or: true, l: l, r: r}
	}
	return l, nil
}

func (p *parser) and() (Expr, error) {
	l, err := p.not()
	if err != nil {
		return nil, err
	}
	for keyword(p.peek(), "and") {
		p.next()
		r, err := p.not()
		if err != nil {
			return nil, err
		}
		l = &binExpr{l: l, r: r}
	}
	return l, nil
}

func (p *parser) not() (Expr, error) {
	if keyword(p.peek(), "not") {
		p.next()
		e, err := p.not()
		if err != nil {
			return nil, err
		}
		return &notExpr{e}, nil
	}
	return p.primary()
}

func (p *parser) primary() (Expr, error) {
	t := p.next()
	if t.kind == tLParen {
		e, err := p.or()
		if err != nil {
			return nil, err
		}
		if c := p.next(); c.kind != tRParen {
			return nil, errAt(c.pos, `expected ")", found %s`, c.describe())
		}
		return e, nil
	}
	if t.kind != tIdent || isKeyword(t) {
		return nil, errAt(t.pos, "expected a key such as metrics.acc, found %s", t.describe())
	}
	k, err := makeKey(t)
	if err != nil {
		return nil, err
	}
	op := p.next()
	neg := false
	if keyword(op, "not") {
		neg = true
		op = p.next()
		if !keyword(op, "in") && !keyword(op, "like") && !keyword(op, "ilike") {
			return nil, errAt(op.pos, `expected in, like or ilike after "not", found %s`, op.describe())
		}
	}
	switch {
	case keyword(op, "in"):
		return p.in(k, neg, op)
	case keyword(op, "like"), keyword(op, "ilike"):
		return p.like(k, neg, op)
	case op.kind == tOp:
		v, err := p.value(k, op)
		if err != nil {
			return nil, err
		}
		return &cmpExpr{key: k, op: opOf(op.str), val: v}, nil
	}
	return nil, errAt(op.pos, "expected an operator (= != < <= > >= in like ilike) after %s, found %s", t.src, op.describe())
}

func (p *parser) in(k Key, neg bool, in token) (Expr, error) {
	if t := p.next(); t.kind != tLParen {
		return nil, errAt(t.pos, `expected "(" after "in", found %s`, t.describe())
	}
	e := &inExpr{key: k, neg: neg}
	for {
		v, err := p.value(k, in)
		if err != nil {
			return nil, err
		}
		e.vals = append(e.vals, v)
		t := p.next()
		if t.kind == tRParen {
			return e, nil
		}
		if t.kind != tComma {
			return nil, errAt(t.pos, `expected "," or ")" in list, found %s`, t.describe())
		}
	}
}

func (p *parser) like(k Key, neg bool, op token) (Expr, error) {
	word := strings.ToLower(op.segs[0].text)
	t := p.next()
	if t.kind != tString {
		return nil, errAt(t.pos, "expected a quoted pattern after %q, found %s", op.src, t.describe())
	}
	switch {
	case k.kind == kMetric:
		return nil, errAt(t.pos, "%s is a number, cannot match it with %s", k, word)
	case k.kind == kAttr && (k.attr == aStarted || k.attr == aEnded || k.attr == aDuration || k.attr == aDirty):
		return nil, errAt(t.pos, "%s is not a string, cannot match it with %s", k, word)
	}
	return &likeExpr{key: k, neg: neg, fold: word == "ilike", pat: t.str}, nil
}

// value parses the value after op and checks that it suits k, resolving
// what can be resolved before matching.
func (p *parser) value(k Key, op token) (lit, error) {
	t := p.next()
	var v lit
	switch {
	case t.kind == tNumber:
		v = lit{kind: lNum, text: t.src, f: t.num, i: t.i, isInt: t.int}
	case t.kind == tRel:
		v = lit{kind: lRel, text: t.src, d: t.rel, f: t.rel.Seconds()}
	case t.kind == tString:
		v = lit{kind: lStr, text: t.str}
		v.sNum, v.f, v.i, v.isInt = readNumber(t.str)
	case keyword(t, "true"), keyword(t, "false"):
		v = lit{kind: lBool, b: keyword(t, "true")}
	default:
		return lit{}, errAt(t.pos, "expected a value after %q, found %s", op.src, t.describe())
	}
	if v.kind == lBool && op.kind == tOp && op.str != "=" && op.str != "!=" {
		return lit{}, errAt(t.pos, "cannot order booleans with %s", op.src)
	}
	mismatch := func(what string) error {
		return errAt(t.pos, "%s is %s, cannot compare it with %s", k, what, t.src)
	}
	switch k.kind {
	case kMetric:
		if v.kind != lNum {
			return lit{}, mismatch("a number")
		}
	case kParam:
		if v.kind == lRel {
			return lit{}, errAt(t.pos, "relative time %s only compares with started, ended and duration", t.src)
		}
	case kTag:
		if v.kind != lStr {
			return lit{}, mismatch("a string")
		}
	case kAttr:
		switch k.attr {
		case aStarted, aEnded:
			switch v.kind {
			case lRel:
			case lStr:
				tm, span, ok := readTime(v.text)
				if !ok {
					return lit{}, errAt(t.pos, "expected a time such as '2026-11-27' or '2026-11-27T10:00:00Z' or a relative time such as -7d, found %s", t.src)
				}
				v.t, v.span = tm, span
			case lNum:
				// MLflow writes times as Unix milliseconds.
				if math.Abs(v.f) > 1e15 {
					return lit{}, errAt(t.pos, "time %s out of range for Unix milliseconds", t.src)
				}
				v.t = time.UnixMilli(int64(v.f)).UTC()
			default:
				return lit{}, mismatch("a time")
			}
		case aDuration:
			if v.kind != lNum && v.kind != lRel {
				return lit{}, mismatch("a number of seconds")
			}
		case aDirty:
			if v.kind != lBool {
				return lit{}, mismatch("a boolean")
			}
		default:
			if v.kind != lStr {
				return lit{}, mismatch("a string")
			}
			// MLflow spells statuses in capitals: FINISHED.
			if low := run.Status(strings.ToLower(v.text)); k.attr == aStatus && low.Valid() {
				v.text = string(low)
			}
		}
	}
	return v, nil
}

// readNumber reports whether s reads as a number, and its value.
func readNumber(s string) (ok bool, f float64, i int64, isInt bool) {
	// Most strings plainly are not numbers; saying so early spares the
	// allocation of strconv's error when matching string params.
	if s == "" || !strings.ContainsRune("+-.0123456789iInN", rune(s[0])) {
		return false, 0, 0, false
	}
	if n, err := strconv.ParseInt(s, 10, 64); err == nil {
		return true, float64(n), n, true
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return false, 0, 0, false
	}
	return true, f, 0, false
}

// readTime reads an RFC 3339 time or a date; a date spans its whole day.
func readTime(s string) (time.Time, time.Duration, bool) {
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t, 0, true
	}
	if t, err := time.Parse(time.DateOnly, s); err == nil {
		return t, 24 * time.Hour, true
	}
	return time.Time{}, 0, false
}

// op is a comparison operator.
type op int

const (
	opEq op = iota
	opNe
	opLt
	opLe
	opGt
	opGe
)

var opText = [...]string{"=", "!=", "<", "<=", ">", ">="}

func opOf(s string) op {
	for i, t := range opText {
		if t == s {
			return op(i)
		}
	}
	panic("query: unknown operator " + s)
}

// litKind is the kind of a literal value.
type litKind int

const (
	lNum litKind = iota
	lStr
	lBool
	lRel
)

// lit is a literal value with everything matching needs worked out.
type lit struct {
	kind  litKind
	text  string  // the number as written, or the string's value
	f     float64 // number; string read as a number; relative time in seconds
	i     int64   // the integer when isInt
	isInt bool
	sNum  bool // a string that reads as a number
	b     bool
	d     time.Duration // relative time
	t     time.Time     // a string read as an absolute time
	span  time.Duration // 24h when t is a date
}

func (v lit) String() string {
	switch v.kind {
	case lStr:
		return "'" + strings.ReplaceAll(v.text, "'", "''") + "'"
	case lBool:
		return strconv.FormatBool(v.b)
	}
	return v.text
}

// binExpr is "l and r" or "l or r".
type binExpr struct {
	or   bool
	l, r Expr
}

func (e *binExpr) String() string {
	word := " and "
	if e.or {
		word = " or "
	}
	return e.side(e.l) + word + e.side(e.r)
}

// side prints an operand, parenthesised when it binds more loosely.
func (e *binExpr) side(x Expr) string {
	if b, ok := x.(*binExpr); ok && b.or && !e.or {
		return "(" + b.String() + ")"
	}
	return x.String()
}

// notExpr is "not e".
type notExpr struct{ e Expr }

func (e *notExpr) String() string {
	if _, ok := e.e.(*binExpr); ok {
		return "not (" + e.e.String() + ")"
	}
	return "not " + e.e.String()
}

// cmpExpr is "key op value".
type cmpExpr struct {
	key Key
	op  op
	val lit
}

func (e *cmpExpr) String() string {
	return e.key.String() + " " + opText[e.op] + " " + e.val.String()
}

// inExpr is "key in (values)" or "key not in (values)".
type inExpr struct {
	key  Key
	neg  bool
	vals []lit
}

func (e *inExpr) String() string {
	var b strings.Builder
	b.WriteString(e.key.String())
	if e.neg {
		b.WriteString(" not")
	}
	b.WriteString(" in (")
	for i, v := range e.vals {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(v.String())
	}
	b.WriteString(")")
	return b.String()
}

// likeExpr is "key like pattern" and its variants.
type likeExpr struct {
	key  Key
	neg  bool
	fold bool // ilike
	pat  string
}

func (e *likeExpr) String() string {
	s := e.key.String()
	if e.neg {
		s += " not"
	}
	if e.fold {
		s += " ilike "
	} else {
		s += " like "
	}
	return s + lit{kind: lStr, text: e.pat}.String()
}
