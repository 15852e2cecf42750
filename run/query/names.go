package query

import (
	"slices"
	"strings"

	"github.com/gitruns/gitruns/run"
)

// Keys returns the keys e names, in the order they appear, each once.
func Keys(e Expr) []Key {
	var out []Key
	seen := map[string]bool{}
	add := func(k Key) {
		if !seen[k.text] {
			seen[k.text] = true
			out = append(out, k)
		}
	}
	var walk func(Expr)
	walk = func(e Expr) {
		switch e := e.(type) {
		case *binExpr:
			walk(e.l)
			walk(e.r)
		case *notExpr:
			walk(e.e)
		case *cmpExpr:
			add(e.key)
		case *inExpr:
			add(e.key)
		case *likeExpr:
			add(e.key)
		}
	}
	walk(e)
	return out
}

// Named tells whether k can have a value in some record: attributes
// always can; a param, metric or tag key only when it names one r has
// (for a metric key, by its whole name or its summary-field reading).
func (k Key) Named(r *run.Record) bool {
	if k.kind == kAttr {
		return true
	}
	_, ok := k.Value(r)
	return ok
}

// IsAttribute tells whether k names an attribute of runs (status,
// started, …) rather than a param, metric or tag.
func (k Key) IsAttribute() bool { return k.kind == kAttr }

// RunIDs returns the values that e compares run_id or parent with by =,
// !=, IN and NOT IN: those a caller may resolve as short ids (see
// ResolveIDs).
func RunIDs(e Expr) []string {
	var out []string
	mapIDs(e, func(v string) string {
		if !slices.Contains(out, v) {
			out = append(out, v)
		}
		return v
	})
	return out
}

// ResolveIDs returns e with each value it compares run_id or parent with
// by =, !=, IN and NOT IN replaced by full(value), so that the short ids a listing
// shows match the runs they stand for. e itself is left as it was.
func ResolveIDs(e Expr, full func(string) string) Expr {
	return mapIDs(e, full)
}

// mapIDs copies the parts of e that compare run_id for equality, with
// their string values mapped by f; other parts are shared.
func mapIDs(e Expr, f func(string) string) Expr {
	isID := func(k Key) bool { return k.kind == kAttr && (k.attr == aID || k.attr == aParent) }
	switch x := e.(type) {
	case *binExpr:
		return &binExpr{or: x.or, l: mapIDs(x.l, f), r: mapIDs(x.r, f)}
	case *notExpr:
		return &notExpr{mapIDs(x.e, f)}
	case *cmpExpr:
		if isID(x.key) && (x.op == opEq || x.op == opNe) && x.val.kind == lStr {
			c := *x
			c.val.text = f(x.val.text)
			return &c
		}
	case *inExpr:
		if isID(x.key) {
			c := *x
			c.vals = slices.Clone(x.vals)
			for i := range c.vals {
				if c.vals[i].kind == lStr {
					c.vals[i].text = f(c.vals[i].text)
				}
			}
			return &c
		}
	}
	return e
}

// Suggest returns the candidates closest to word, closest first, at
// most n of them: those within a few edits (a third of the length of
// word's name, after the prefix of a key such as "metrics.", at least
// one), or that word is a prefix of, so that a mistyped key finds the
// one meant and not every short key. Case is ignored.
func Suggest(word string, candidates []string, n int) []string {
	type scored struct {
		s string
		d int
	}
	low := strings.ToLower(word)
	name := low
	if _, rest, ok := strings.Cut(low, "."); ok {
		if _, isPrefix := prefixes[low[:len(low)-len(rest)-1]]; isPrefix {
			name = rest
		}
	}
	limit := max(1, len([]rune(name))/3)
	var found []scored
	for _, c := range candidates {
		lc := strings.ToLower(c)
		d := editDistance(low, lc)
		if d > limit && !strings.HasPrefix(lc, low) {
			continue
		}
		found = append(found, scored{c, d})
	}
	slices.SortStableFunc(found, func(a, b scored) int {
		if a.d != b.d {
			return a.d - b.d
		}
		return strings.Compare(a.s, b.s)
	})
	out := make([]string, 0, min(n, len(found)))
	for _, f := range found[:min(n, len(found))] {
		out = append(out, f.s)
	}
	return out
}

// editDistance counts the insertions, deletions, substitutions and
// swaps of neighbouring characters that turn a into b.
func editDistance(a, b string) int {
	x, y := []rune(a), []rune(b)
	prev2 := make([]int, len(y)+1)
	prev := make([]int, len(y)+1)
	cur := make([]int, len(y)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(x); i++ {
		cur[0] = i
		for j := 1; j <= len(y); j++ {
			cost := 1
			if x[i-1] == y[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
			if i > 1 && j > 1 && x[i-1] == y[j-2] && x[i-2] == y[j-1] {
				cur[j] = min(cur[j], prev2[j-2]+1)
			}
		}
		prev2, prev, cur = prev, cur, prev2
	}
	return prev[len(y)]
}
