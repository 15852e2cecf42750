package merge

import (
	"testing"
	"time"

	"github.com/gitruns/gitruns/run"
)

var t0 = time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)

func rec(status run.Status, tags map[string]string, times map[string]time.Time) *run.Record {
	r := &run.Record{
		ID: "01jdq5h8r0abcdefghjkmnpqrs", Status: status, Started: t0,
		Params:  map[string]any{"lr": 0.1},
		Metrics: map[string]run.Summary{"loss": {Last: 0.5, Count: 10}},
		Tags:    tags, TagTimes: times,
	}
	if status != run.Running {
		r.Ended = t0.Add(time.Hour)
	}
	return r
}

func TestFinalBeatsRunning(t *testing.T) {
	live := rec(run.Running, map[string]string{"a": "1"}, nil)
	done := rec(run.Finished, nil, nil)
	for _, c := range []struct {
		ours, theirs *run.Record
		base         Side
	}{{live, done, Theirs}, {done, live, Ours}} {
		m := Records(c.ours, c.theirs)
		if m.Base != c.base || m.Conflict != "" || m.Record.Status != run.Finished {
			t.Errorf("base %v status %s conflict %q, want base %v finished", m.Base, m.Record.Status, m.Conflict, c.base)
		}
		if m.Record.Tags["a"] != "1" {
			t.Errorf("tag set at start lost: %v", m.Record.Tags)
		}
	}
}

func TestNewestCheckpointWins(t *testing.T) {
	a, b := rec(run.Running, nil, nil), rec(run.Running, nil, nil)
	a.Updated, b.Updated = t0.Add(time.Minute), t0.Add(2*time.Minute)
	if m := Records(a, b); m.Base != Theirs || !m.Same {
		t.Errorf("newer theirs: base %v same %v", m.Base, m.Same)
	}
	if m := Records(b, a); m.Base != Ours || !m.Same {
		t.Errorf("newer ours: base %v same %v", m.Base, m.Same)
	}
}

func TestTagsMergeByTime(t *testing.T) {
	ours := rec(run.Finished, map[string]string{"x": "ours", "y": "old"}, map[string]time.Time{"x": t0.Add(2 * time.Hour)})
	// Theirs removed y after ours set nothing on it, and set x earlier.
	theirs := rec(run.Finished, map[string]string{"x": "theirs"}, map[string]time.Time{"x": t0.Add(90 * time.Minute), "y": t0.Add(3 * time.Hour)})
	m := Records(ours, theirs)
	if m.Conflict != "" {
		t.Fatal(m.Conflict)
	}
	if m.Record.Tags["x"] != "ours" {
		t.Errorf("x = %q, want the later edit, ours", m.Record.Tags["x"])
	}
	if _, ok := m.Record.Tags["y"]; ok {
		t.Errorf("y survived its later removal: %v", m.Record.Tags)
	}
	// The same merge from the other side reaches the same tags.
	n := Records(theirs, ours)
	if n.Record.Tags["x"] != "ours" || len(n.Record.Tags) != 1 || !timesEqual(n.Record.TagTimes, m.Record.TagTimes) {
		t.Errorf("merge depends on the side: %v %v vs %v %v", m.Record.Tags, m.Record.TagTimes, n.Record.Tags, n.Record.TagTimes)
	}
}

func TestEqualTimesAreDecidedTheSameWayOnBothSides(t *testing.T) {
	a := rec(run.Finished, map[string]string{"k": "a"}, nil)
	b := rec(run.Finished, map[string]string{"k": "b"}, nil)
	if x, y := Records(a, b).Record.Tags["k"], Records(b, a).Record.Tags["k"]; x != y || x != "b" {
		t.Errorf("ties: %q and %q, want b both", x, y)
	}
	c := rec(run.Finished, nil, map[string]time.Time{"k": t0})
	d := rec(run.Finished, map[string]string{"k": "v"}, map[string]time.Time{"k": t0})
	if x, y := Records(c, d).Record.Tags["k"], Records(d, c).Record.Tags["k"]; x != "v" || y != "v" {
		t.Errorf("value against removal at one time: %q %q, want v", x, y)
	}
}

func TestFinalCopiesThatDifferConflict(t *testing.T) {
	a, b := rec(run.Finished, nil, nil), rec(run.Finished, nil, nil)
	b.Params = map[string]any{"lr": 0.2}
	m := Records(a, b)
	if m.Conflict != "their params differ" || m.Record != a {
		t.Errorf("conflict %q, record kept %p want ours %p", m.Conflict, m.Record, a)
	}
	b.Params = a.Params
	b.Metrics = map[string]run.Summary{"loss": {Last: 0.4, Count: 10}}
	if m := Records(a, b); m.Conflict != "their metrics differ" {
		t.Errorf("conflict %q", m.Conflict)
	}
	b.Metrics, b.Status = a.Metrics, run.Failed
	if m := Records(a, b); m.Conflict == "" {
		t.Error("different final statuses merged")
	}
}

func TestEqualCopiesTakeTheirsSoClonesConverge(t *testing.T) {
	a, b := rec(run.Finished, map[string]string{"t": "1"}, nil), rec(run.Finished, map[string]string{"t": "1"}, nil)
	b.Updated = t0.Add(5 * time.Hour) // written at another time, same content
	if m := Records(a, b); m.Base != Theirs || !m.Same || m.Record != b {
		t.Errorf("equal copies: base %v same %v", m.Base, m.Same)
	}
}
