package query

import (
	"math"
	"strconv"

	"github.com/gitruns/gitruns/run"
)

// Need is a condition that every run matching an expression satisfies,
// found by Needs for an index to narrow the runs it looks at: the key of
// Kind ("metric": its last value; "param"; "tag") and Name has a numeric
// value in [Lo, Hi] (NaN never inside) or, when Eq, equals Value as text
// (a param's text form as tables write it: strings bare, true, false,
// [1, 2]). A param Need with a range is also met by any param that is not
// a number: the match decides those, and reports a comparison they do
// not support.
type Need struct {
	Kind   string
	Name   string
	Eq     bool
	Value  string
	Lo, Hi float64
}

// Needs returns conditions every run matching e satisfies: one for each
// comparison joined to the whole by and alone whose key an index can look
// up. A run meeting them all may still not match: Match decides.
func Needs(e Expr) []Need {
	switch e := e.(type) {
	case *binExpr:
		if e.or {
			return nil
		}
		return append(Needs(e.l), Needs(e.r)...)
	case *cmpExpr:
		if n, ok := need(&e.key, e.op, &e.val); ok {
			return []Need{n}
		}
	}
	return nil
}

// need is the condition of one comparison, if an index can check it.
func need(k *Key, o op, v *lit) (Need, bool) {
	switch k.kind {
	case kMetric:
		if k.base != "" || v.kind != lNum || math.IsNaN(v.f) {
			return Need{}, false // metrics.x.min reads a field, or metric "x.min"
		}
		return numNeed("metric", k.name, o, v.f)
	case kParam:
		if v.kind == lNum || v.kind == lStr && v.sNum {
			if math.IsNaN(v.f) || v.kind == lStr && o != opEq {
				return Need{}, false
			}
			return numNeed("param", k.name, o, v.f)
		}
		if o != opEq {
			return Need{}, false
		}
		switch v.kind {
		case lStr:
			return Need{Kind: "param", Name: k.name, Eq: true, Value: v.text}, true
		case lBool:
			return Need{Kind: "param", Name: k.name, Eq: true, Value: strconv.FormatBool(v.b)}, true
		}
	case kTag:
		if o == opEq && v.kind == lStr && k.name != runNameTag {
			return Need{Kind: "tag", Name: k.name, Eq: true, Value: v.text}, true
		}
	case kAttr:
		if k.attr == aParent && o == opEq && v.kind == lStr && v.text != "" {
			return Need{Kind: "tag", Name: run.ParentTag, Eq: true, Value: v.text}, true
		}
	}
	return Need{}, false
}

// numNeed is the range of values a comparison with f lets through. Bounds
// are inclusive even for < and >: an integer param compared exactly as an
// integer may convert to the bound itself as a float.
func numNeed(kind, name string, o op, f float64) (Need, bool) {
	n := Need{Kind: kind, Name: name, Lo: math.Inf(-1), Hi: math.Inf(1)}
	switch o {
	case opEq:
		n.Lo, n.Hi = f, f
	case opLt, opLe:
		n.Hi = f
	case opGt, opGe:
		n.Lo = f
	default:
		return Need{}, false
	}
	return n, true
}

// Names returns what k is a key of ("metric", "param" or "tag"; "" for an
// attribute) and the names a run may have it under: a metric key ending
// in a summary word (metrics.loss.min) is metric "loss.min" or a field of
// metric "loss".
func (k Key) Names() (kind string, names []string) {
	switch k.kind {
	case kMetric:
		if k.base != "" {
			return "metric", []string{k.name, k.base}
		}
		return "metric", []string{k.name}
	case kParam:
		return "param", []string{k.name}
	case kTag:
		if k.name == runNameTag {
			return "", nil // every run has a name
		}
		return "tag", []string{k.name}
	}
	return "", nil
}
