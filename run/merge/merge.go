// Package merge holds the rules by which two copies of one run, recorded
// or edited on different clones, become one (docs/FORMAT.md, "Merging").
// The rules are pure functions of the two records, so that every clone
// that merges the same copies reaches the same record.
package merge

import (
	"bytes"
	"maps"
	"time"

	"github.com/gitruns/gitruns/run"
	"github.com/gitruns/gitruns/run/codec"
)

// Side names one of the two copies.
type Side int

// The copies: ours is the one here, theirs the one fetched.
const (
	Ours Side = iota
	Theirs
)

// Result is what merging two copies of a run gives.
type Result struct {
	// Record is the merged record. It is one of the two inputs, unchanged,
	// when the merge keeps that copy as it is (see Same).
	Record *run.Record
	// Base is the copy whose histories, output and artifacts the merged
	// run keeps.
	Base Side
	// Same tells that Record is exactly Base's record, so the merged run
	// can be Base's commit itself rather than a new one.
	Same bool
	// Conflict, when not empty, says why the copies could not be merged:
	// both are final and differ in more than their tags. Ours is kept
	// unchanged and theirs stays where it was fetched.
	Conflict string
}

// Records merges ours and theirs, two copies of one run:
//
//   - a final status beats running;
//   - of two running copies (checkpoints of one live run), the one written
//     later wins, by updated, then by the points it holds;
//   - two final copies must agree on everything but their tags, else they
//     conflict;
//   - tags merge per key, by the time each was last set or removed
//     (TagTimes); a tag without a time was set when the run was recorded
//     and loses to any later edit; between equal times the larger value
//     wins, a removal losing to any value.
func Records(ours, theirs *run.Record) Result {
	base, conflict := pickBase(ours, theirs)
	if conflict != "" {
		return Result{Record: ours, Base: Ours, Same: true, Conflict: conflict}
	}
	b := ours
	if base == Theirs {
		b = theirs
	}
	tags, times := Tags(ours, theirs)
	if maps.Equal(tags, b.Tags) && timesEqual(times, b.TagTimes) {
		return Result{Record: b, Base: base, Same: true}
	}
	if base == Theirs && ours.Status != run.Running && maps.Equal(tags, ours.Tags) && timesEqual(times, ours.TagTimes) {
		// Equal copies of which ours already has every edit: nothing to
		// write here.
		return Result{Record: ours, Base: Ours, Same: true}
	}
	m := *b
	m.Tags, m.TagTimes = tags, times
	return Result{Record: &m, Base: base}
}

// Extended merges two final copies of a run of which one, later, was
// added to after the run ended (metrics or artifacts of an evaluation) on
// top of a copy equal to the other but for tags (see SameButTags): the
// later copy's contents are kept, with the tags of both merged as Records
// merges them. Which copy extends the other is the caller's to find, in
// the chain of commits a run's additions leave (docs/FORMAT.md).
func Extended(ours, theirs *run.Record, later Side) Result {
	b := ours
	if later == Theirs {
		b = theirs
	}
	tags, times := Tags(ours, theirs)
	if maps.Equal(tags, b.Tags) && timesEqual(times, b.TagTimes) {
		return Result{Record: b, Base: later, Same: true}
	}
	m := *b
	m.Tags, m.TagTimes = tags, times
	return Result{Record: &m, Base: later}
}

// SameButTags tells whether two copies of a run, both final, differ in
// nothing but what merging reconciles (their tags and when they were
// written): one of them may then be the state that the other's
// additions were made on top of.
func SameButTags(a, b *run.Record) bool {
	return a.Status != run.Running && b.Status != run.Running && differ(a, b) == ""
}

// pickBase chooses the copy whose contents the merge keeps, or says why
// neither can be kept over the other.
func pickBase(ours, theirs *run.Record) (Side, string) {
	oursLive, theirsLive := ours.Status == run.Running, theirs.Status == run.Running
	switch {
	case oursLive && !theirsLive:
		return Theirs, ""
	case !oursLive && theirsLive:
		return Ours, ""
	case oursLive && theirsLive:
		if newer(theirs, ours) {
			return Theirs, ""
		}
		return Ours, ""
	}
	if why := differ(ours, theirs); why != "" {
		return Ours, why
	}
	// Equal but for tags: taking theirs lets clones that merged the same
	// copies end on the same commit rather than on two equal ones.
	return Theirs, ""
}

// newer tells whether running copy a was written after b.
func newer(a, b *run.Record) bool {
	if !a.Updated.Equal(b.Updated) {
		return a.Updated.After(b.Updated)
	}
	return points(a) > points(b)
}

func points(r *run.Record) int64 {
	var n int64
	for _, s := range r.Metrics {
		n += s.Count
	}
	return n
}

// differ says in which part two final copies differ beyond their tags,
// "" when they do not.
func differ(a, b *run.Record) string {
	if a.Status != b.Status || !a.Ended.Equal(b.Ended) {
		return "they ended differently (" + string(a.Status) + " here, " + string(b.Status) + " there)"
	}
	if !bytes.Equal(encodeUntagged(a, paramsOnly), encodeUntagged(b, paramsOnly)) {
		return "their params differ"
	}
	if !bytes.Equal(encodeUntagged(a, metricsOnly), encodeUntagged(b, metricsOnly)) {
		return "their metrics differ"
	}
	if !bytes.Equal(encodeUntagged(a, 0), encodeUntagged(b, 0)) {
		return "their records differ"
	}
	return ""
}

const (
	paramsOnly = 1 + iota
	metricsOnly
)

// encodeUntagged encodes the part of r that a merge compares: all of it
// but tags and when it was written, or only its params or metrics.
func encodeUntagged(r *run.Record, part int) []byte {
	c := *r
	c.Tags, c.TagTimes, c.Updated, c.CheckpointInterval = nil, nil, time.Time{}, 0
	switch part {
	case paramsOnly:
		c = run.Record{ID: r.ID, Status: r.Status, Params: r.Params}
	case metricsOnly:
		c = run.Record{ID: r.ID, Status: r.Status, Metrics: r.Metrics}
	}
	b, err := codec.EncodeTOML(&c)
	if err != nil {
		// Records that cannot be encoded cannot be written either: they
		// compare by what could be, their identity.
		return []byte(err.Error())
	}
	return b
}

// Tags merges the tags of two copies of a run per key, as Records says,
// and returns the merged tags with the time of each key's winning edit
// (keys without a time on either side have none).
func Tags(ours, theirs *run.Record) (map[string]string, map[string]time.Time) {
	tags := map[string]string{}
	var times map[string]time.Time
	keys := map[string]bool{}
	for _, r := range []*run.Record{ours, theirs} {
		for k := range r.Tags {
			keys[k] = true
		}
		for k := range r.TagTimes {
			keys[k] = true
		}
	}
	for k := range keys {
		v, set, t := winner(edit(ours, k), edit(theirs, k))
		if set {
			tags[k] = v
		}
		if !t.IsZero() {
			if times == nil {
				times = map[string]time.Time{}
			}
			times[k] = t
		}
	}
	return tags, times
}

type tagEdit struct {
	v   string
	set bool
	t   time.Time
}

func edit(r *run.Record, k string) tagEdit {
	v, set := r.Tags[k]
	return tagEdit{v, set, r.TagTimes[k]}
}

// winner picks the later edit of one tag; between equal times, a value
// beats a removal and the larger value beats the smaller, so that the
// choice does not depend on which copy is ours.
func winner(a, b tagEdit) (string, bool, time.Time) {
	switch {
	case a.t.After(b.t):
		return a.v, a.set, a.t
	case b.t.After(a.t):
		return b.v, b.set, b.t
	case a.set != b.set:
		if a.set {
			return a.v, true, a.t
		}
		return b.v, true, b.t
	case b.v > a.v:
		return b.v, b.set, b.t
	}
	return a.v, a.set, a.t
}

func timesEqual(a, b map[string]time.Time) bool {
	if len(a) != len(b) {
		return false
	}
	for k, t := range a {
		if u, ok := b[k]; !ok || !u.Equal(t) {
			return false
		}
	}
	return true
}
