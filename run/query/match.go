package query

import (
	"cmp"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/gitruns/gitruns/run"
)

// Match reports whether r satisfies e; now anchors relative times and the
// duration of running runs. The error reports a comparison the record's
// value does not support, such as a string param with <.
func Match(e Expr, r *run.Record, now time.Time) (bool, error) {
	switch e := e.(type) {
	case *binExpr:
		l, err := Match(e.l, r, now)
		if err != nil {
			return false, err
		}
		if l == e.or {
			return l, nil
		}
		return Match(e.r, r, now)
	case *notExpr:
		m, err := Match(e.e, r, now)
		return !m, err
	case *cmpExpr:
		return compare(&e.key, e.op, &e.val, r, now)
	case *inExpr:
		o := opEq
		if e.neg {
			o = opNe
		}
		for i := range e.vals {
			m, err := compare(&e.key, o, &e.vals[i], r, now)
			if err != nil {
				return false, err
			}
			if m != e.neg {
				return m, nil // in: one equal value; not in: one value not unequal
			}
		}
		return e.neg, nil
	case *likeExpr:
		s, ok := likeText(&e.key, r)
		if !ok {
			return false, nil
		}
		return like(s, e.pat, e.fold) != e.neg, nil
	}
	return false, fmt.Errorf("query: unknown expression %T", e)
}

// order turns a three-way comparison into the result of o.
func order(c int, o op) bool {
	switch o {
	case opEq:
		return c == 0
	case opNe:
		return c != 0
	case opLt:
		return c < 0
	case opLe:
		return c <= 0
	case opGt:
		return c > 0
	}
	return c >= 0
}

// compareFloat compares with NaN false for every operator.
func compareFloat(x float64, o op, y float64) bool {
	if math.IsNaN(x) || math.IsNaN(y) {
		return false
	}
	return order(cmp.Compare(x, y), o)
}

// compareNum compares an integer or float with a number literal, exactly
// when both are integers.
func compareNum(x any, o op, v *lit) bool {
	switch x := x.(type) {
	case int64:
		if v.isInt {
			return order(cmp.Compare(x, v.i), o)
		}
		return compareFloat(float64(x), o, v.f)
	case float64:
		return compareFloat(x, o, v.f)
	}
	return false
}

func compare(k *Key, o op, v *lit, r *run.Record, now time.Time) (bool, error) {
	switch k.kind {
	case kMetric:
		x, ok := k.metric(r)
		return ok && compareFloat(x, o, v.f), nil
	case kParam:
		x, ok := r.Params[k.name]
		if !ok {
			return false, nil
		}
		return compareParam(k, x, o, v)
	case kTag:
		x, ok := tagValue(r, k.name)
		return ok && order(strings.Compare(x, v.text), o), nil
	}
	switch k.attr {
	case aStarted, aEnded:
		t, ok := k.attrTime(r)
		if !ok {
			return false, nil
		}
		if v.kind == lRel {
			return order(t.Compare(now.Add(v.d)), o), nil
		}
		return compareTime(t, o, v.t, v.span), nil
	case aDuration:
		d, ok := duration(r, now)
		return ok && compareFloat(d, o, v.f), nil
	case aDirty:
		return order(boolCmp(r.Source.Dirty, v.b), o), nil
	}
	s, ok := k.attrString(r)
	return ok && order(strings.Compare(s, v.text), o), nil
}

func boolCmp(a, b bool) int {
	if a == b {
		return 0
	}
	return 1 // only = and != apply to booleans
}

// compareTime compares t with the span [lo, lo+span): a date is its
// whole day, an instant has span 0.
func compareTime(t time.Time, o op, lo time.Time, span time.Duration) bool {
	if span == 0 {
		return order(t.Compare(lo), o)
	}
	hi := lo.Add(span)
	switch o {
	case opEq:
		return !t.Before(lo) && t.Before(hi)
	case opNe:
		return t.Before(lo) || !t.Before(hi)
	case opLt:
		return t.Before(lo)
	case opLe:
		return t.Before(hi)
	case opGt:
		return !t.Before(hi)
	}
	return !t.Before(lo)
}

// compareParam applies the param rules of the package doc.
func compareParam(k *Key, x any, o op, v *lit) (bool, error) {
	if o != opEq && o != opNe {
		switch x := x.(type) {
		case int64, float64:
			if v.kind == lNum {
				return compareNum(x, o, v), nil
			}
		case string:
			if v.kind == lStr {
				return order(strings.Compare(x, v.text), o), nil
			}
		}
		return false, fmt.Errorf("query: %s is %s, cannot compare it with %s using %s", k, typeName(x), v, opText[o])
	}
	eq, ok := paramEqual(x, v)
	if !ok {
		return false, nil
	}
	return eq == (o == opEq), nil
}

// paramEqual reports whether param x equals v; false ok when NaN makes
// the question meaningless.
func paramEqual(x any, v *lit) (eq, ok bool) {
	switch x := x.(type) {
	case int64:
		switch {
		case v.kind == lNum || v.kind == lStr && v.sNum:
			if v.isInt {
				return x == v.i, true
			}
			if math.IsNaN(v.f) {
				return false, false
			}
			return float64(x) == v.f, true
		case v.kind == lStr:
			return false, true
		}
	case float64:
		if math.IsNaN(x) {
			return false, false
		}
		if v.kind == lNum || v.kind == lStr && v.sNum {
			if math.IsNaN(v.f) {
				return false, false
			}
			return x == v.f, true
		}
	case string:
		switch v.kind {
		case lStr:
			return x == v.text, true
		case lNum:
			ok, f, i, isInt := readNumber(x)
			if !ok {
				return false, true
			}
			if math.IsNaN(f) {
				return false, false
			}
			if isInt && v.isInt {
				return i == v.i, true
			}
			return f == v.f, true
		case lBool:
			return x == strconv.FormatBool(v.b), true
		}
	case bool:
		switch v.kind {
		case lBool:
			return x == v.b, true
		case lStr:
			return v.text == strconv.FormatBool(x), true
		}
	case []any:
		return run.FormatPlain(x) == v.String() || v.kind == lStr && run.FormatPlain(x) == v.text, true
	}
	return false, true
}

func typeName(x any) string {
	switch x.(type) {
	case int64, float64:
		return "a number"
	case string:
		return "a string"
	case bool:
		return "a boolean"
	case []any:
		return "a list"
	}
	return fmt.Sprintf("a %T", x)
}

// likeText returns the text LIKE matches for k in r.
func likeText(k *Key, r *run.Record) (string, bool) {
	switch k.kind {
	case kParam:
		x, ok := r.Params[k.name]
		if !ok {
			return "", false
		}
		if s, ok := x.(string); ok {
			return s, true
		}
		return run.FormatPlain(x), true
	case kTag:
		return tagValue(r, k.name)
	case kAttr:
		return k.attrString(r)
	}
	return "", false
}

// like matches s against an SQL LIKE pattern: % any run of characters,
// _ any one character. It backtracks only to the last %, which suffices
// because a later % can absorb whatever an earlier one would have.
func like(s, p string, fold bool) bool {
	sx, px := 0, 0
	starP, starS := -1, -1
	for px < len(p) || sx < len(s) {
		if px < len(p) {
			c, pn := utf8.DecodeRuneInString(p[px:])
			if c == '%' {
				starP, starS = px, sx
				px += pn
				continue
			}
			if sx < len(s) {
				r, sn := utf8.DecodeRuneInString(s[sx:])
				if c == '_' || c == r || fold && foldEq(c, r) {
					px += pn
					sx += sn
					continue
				}
			}
		}
		if starP >= 0 && starS < len(s) {
			_, sn := utf8.DecodeRuneInString(s[starS:])
			starS += sn
			px, sx = starP, starS
			continue
		}
		return false
	}
	return true
}

// foldEq reports whether two runes are equal under simple case folding.
func foldEq(a, b rune) bool {
	for f := unicode.SimpleFold(a); f != a; f = unicode.SimpleFold(f) {
		if f == b {
			return true
		}
	}
	return false
}
