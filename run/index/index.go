package index

import (
	"cmp"
	"math"
	"slices"
	"strings"
)

// Index is a base segment with a delta over it: the delta's rows replace
// the base's rows of the same ids, and its removed ids hide base rows.
// Either segment may be nil. An Index is safe for concurrent reads.
type Index struct {
	Base, Delta *Segment
	removed     map[string]bool
	hiddenBase  int // base rows the delta replaces or removes
}

// New makes the view of base under delta.
func New(base, delta *Segment) *Index {
	x := &Index{Base: base, Delta: delta, removed: map[string]bool{}}
	if delta != nil {
		for _, id := range delta.Removed() {
			x.removed[id] = true
		}
	}
	if base != nil {
		for id := range x.removed {
			if _, ok := base.Find(id); ok {
				x.hiddenBase++
			}
		}
		if delta != nil {
			for i := range delta.Len() {
				if _, ok := base.Find(delta.ID(i)); ok && !x.removed[delta.ID(i)] {
					x.hiddenBase++
				}
			}
		}
	}
	return x
}

// Close closes both segments.
func (x *Index) Close() error {
	err := x.Base.Close()
	if e := x.Delta.Close(); err == nil {
		err = e
	}
	return err
}

func segLen(s *Segment) int {
	if s == nil {
		return 0
	}
	return s.Len()
}

// Len is the number of runs.
func (x *Index) Len() int { return segLen(x.Base) - x.hiddenBase + segLen(x.Delta) }

// hidden tells whether base row id is replaced or removed by the delta.
func (x *Index) hidden(id []byte) bool {
	if x.Delta == nil {
		return false
	}
	if len(x.removed) > 0 && x.removed[string(id)] {
		return true
	}
	_, ok := x.Delta.Find(string(id))
	return ok
}

// Get returns run id's row.
func (x *Index) Get(id string) (Row, bool) {
	if x.Delta != nil {
		if i, ok := x.Delta.Find(id); ok {
			return x.Delta.Row(i), true
		}
		if x.removed[id] {
			return Row{}, false
		}
	}
	if x.Base != nil {
		if i, ok := x.Base.Find(id); ok {
			return x.Base.Row(i), true
		}
	}
	return Row{}, false
}

// Newest calls f with each run, newest (highest id) first, until f
// returns false.
func (x *Index) Newest(f func(Row) bool) {
	i, j := segLen(x.Base)-1, segLen(x.Delta)-1
	for i >= 0 || j >= 0 {
		if i >= 0 && x.hidden(x.Base.idBytes(i)) {
			i--
			continue
		}
		if j < 0 || (i >= 0 && string(x.Base.idBytes(i)) > string(x.Delta.idBytes(j))) {
			if !f(x.Base.scanRow(i)) {
				return
			}
			i--
		} else {
			if !f(x.Delta.scanRow(j)) {
				return
			}
			j--
		}
	}
}

// Oldest calls f with each run, oldest (lowest id) first, until f
// returns false.
func (x *Index) Oldest(f func(Row) bool) {
	i, j := 0, 0
	nb, nd := segLen(x.Base), segLen(x.Delta)
	for i < nb || j < nd {
		if i < nb && x.hidden(x.Base.idBytes(i)) {
			i++
			continue
		}
		if j >= nd || (i < nb && string(x.Base.idBytes(i)) < string(x.Delta.idBytes(j))) {
			if !f(x.Base.scanRow(i)) {
				return
			}
			i++
		} else {
			if !f(x.Delta.scanRow(j)) {
				return
			}
			j++
		}
	}
}

// Prefix returns the runs whose ids start with p, newest first, at most
// max of them (max+1 tells the caller there are more).
func (x *Index) Prefix(p string, max int) []Row {
	var out []Row
	for _, s := range []*Segment{x.Delta, x.Base} {
		if s == nil {
			continue
		}
		lo, hi := s.Prefix(p)
		for i := hi - 1; i >= lo && len(out) < 2*max+2; i-- {
			if s == x.Base && x.hidden(s.idBytes(i)) {
				continue
			}
			out = append(out, s.Row(i))
		}
	}
	slices.SortFunc(out, func(a, b Row) int { return strings.Compare(b.ID, a.ID) })
	if len(out) > max {
		out = out[:max]
	}
	return out
}

// Neighbours returns the ids just below and just above id among the
// runs, "" where there is none: what abbreviating id needs.
func (x *Index) Neighbours(id string) (below, above string) {
	for _, s := range []*Segment{x.Delta, x.Base} {
		if s == nil {
			continue
		}
		i := s.search(id)
		for k := i - 1; k >= 0; k-- {
			if s == x.Base && x.hidden(s.idBytes(k)) {
				continue
			}
			if c := s.ID(k); c > below {
				below = c
			}
			break
		}
		for k := i; k < s.Len(); k++ {
			c := s.ID(k)
			if c == id || (s == x.Base && x.hidden(s.idBytes(k))) {
				continue
			}
			if above == "" || c < above {
				above = c
			}
			break
		}
	}
	return below, above
}

// Named returns the runs that may be named name (the caller decodes to
// be sure), newest first.
func (x *Index) Named(name string) []Row {
	return x.collect(func(s *Segment) []int { return s.Named(name) })
}

// collect gathers the visible rows that pick returns of each segment,
// newest first.
func (x *Index) collect(pick func(*Segment) []int) []Row {
	var out []Row
	for _, s := range []*Segment{x.Delta, x.Base} {
		if s == nil {
			continue
		}
		for _, i := range pick(s) {
			if s == x.Base && x.hidden(s.idBytes(i)) {
				continue
			}
			out = append(out, s.Row(i))
		}
	}
	slices.SortFunc(out, func(a, b Row) int { return strings.Compare(b.ID, a.ID) })
	return slices.CompactFunc(out, func(a, b Row) bool { return a.ID == b.ID })
}

// Having returns the runs that have tag name, newest first.
func (x *Index) Having(name string) []Row {
	return x.collect(func(s *Segment) []int { return s.Having(name) })
}

// Cond is what a run must satisfy to match a query, as far as the index
// can tell: Kind and Name pick the key, and either the key's numeric
// value lies in [Lo, Hi], or, with Eq set, its text equals Value.
type Cond struct {
	Kind   Kind
	Name   string
	Eq     bool
	Value  string
	Lo, Hi float64
}

// Estimate returns how many rows Select would return for c, or more.
func (x *Index) Estimate(c Cond) int {
	n := 0
	for _, s := range []*Segment{x.Delta, x.Base} {
		if s == nil {
			continue
		}
		if c.Eq {
			n += len(s.Equal(c.Kind, c.Name, c.Value))
		} else {
			n += s.RangeCount(c.Kind, c.Name, c.Lo, c.Hi)
		}
	}
	return n
}

// Select returns the runs that may satisfy c, newest first: every one
// that does, and some that do not (hash collisions, params that are not
// numbers), which the caller tells apart by decoding.
func (x *Index) Select(c Cond) []Row {
	return x.collect(func(s *Segment) []int {
		if c.Eq {
			return s.Equal(c.Kind, c.Name, c.Value)
		}
		return s.Range(c.Kind, c.Name, c.Lo, c.Hi)
	})
}

// Count returns how many runs have the key, or more when the delta
// replaces runs of the base that have it too.
func (x *Index) Count(kind Kind, name string) int {
	n := 0
	for _, s := range []*Segment{x.Delta, x.Base} {
		if s != nil {
			n += s.Count(kind, name)
		}
	}
	return n
}

// Keys returns every key of kind some run has, sorted.
func (x *Index) Keys(kind Kind) []string {
	var out []string
	for _, s := range []*Segment{x.Delta, x.Base} {
		if s != nil {
			out = append(out, s.Keys(kind)...)
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// Extreme calls f with the ids of the runs that have a numeric value of
// key, from the highest value down (the lowest up, with lowest), until f
// returns false; Get reads the run. Runs of the delta and the base come
// in one order.
func (x *Index) Extreme(kind Kind, name string, lowest bool, f func(id string, v float64) bool) {
	type cursor struct {
		s *Segment
		k keyInfo
		i int
	}
	var cs []*cursor
	for _, s := range []*Segment{x.Delta, x.Base} {
		if s == nil {
			continue
		}
		if k, ok := s.keys[keyID{kind, name}]; ok && k.numLen > 0 {
			c := &cursor{s: s, k: k}
			if !lowest {
				c.i = int(k.numLen) - 1
			}
			cs = append(cs, c)
		}
	}
	sign := 1.0
	if lowest {
		sign = -1
	}
	for {
		var best *cursor
		bv := math.Inf(-1)
		for _, c := range cs {
			if c.i < 0 || c.i >= int(c.k.numLen) {
				continue
			}
			if v := sign * c.s.numValue(c.k, c.i); best == nil || v > bv {
				best, bv = c, v
			}
		}
		if best == nil {
			return
		}
		row := int(uint32le(best.s.num(best.k, best.i)[8:]))
		v := best.s.numValue(best.k, best.i)
		if lowest {
			best.i++
		} else {
			best.i--
		}
		if best.s == x.Base && x.hidden(best.s.idBytes(row)) {
			continue
		}
		if !f(best.s.ID(row), v) {
			return
		}
	}
}

func uint32le(b []byte) uint32 {
	return uint32(b[0]) | uint32(b[1])<<8 | uint32(b[2])<<16 | uint32(b[3])<<24
}

// byValue orders conditions most selective first.
func byValue(x *Index, cs []Cond) []Cond {
	out := slices.Clone(cs)
	slices.SortStableFunc(out, func(a, b Cond) int { return cmp.Compare(x.Estimate(a), x.Estimate(b)) })
	return out
}

// Narrowest returns the condition of cs that lets through the fewest
// runs, and how many; ok is false for no conditions.
func (x *Index) Narrowest(cs []Cond) (c Cond, n int, ok bool) {
	if len(cs) == 0 {
		return Cond{}, 0, false
	}
	c = byValue(x, cs)[0]
	return c, x.Estimate(c), true
}
