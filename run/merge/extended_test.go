package merge

import (
	"testing"
	"time"

	"github.com/gitruns/gitruns/run"
)

// TestExtended: a copy with an evaluation added after the end wins over
// the copy it was added on, whose tag edit joins it.
func TestExtended(t *testing.T) {
	ended := rec(run.Finished, map[string]string{"verdict": "ship"}, map[string]time.Time{"verdict": t0.Add(2 * time.Hour)})
	added := rec(run.Finished, nil, nil)
	added.Metrics = map[string]run.Summary{"loss": {Last: 0.5, Count: 10}, "test/acc": {Last: 0.9, Count: 1}}
	added.Updated = t0.Add(3 * time.Hour)
	if m := Records(ended, added); m.Conflict != "their metrics differ" {
		t.Fatalf("Records of an addition and its base: conflict %q", m.Conflict)
	}
	if !SameButTags(ended, rec(run.Finished, nil, nil)) || SameButTags(ended, added) || SameButTags(rec(run.Running, nil, nil), rec(run.Running, nil, nil)) {
		t.Error("SameButTags")
	}
	for _, side := range []Side{Ours, Theirs} {
		ours, theirs := ended, added
		if side == Ours {
			ours, theirs = added, ended
		}
		m := Extended(ours, theirs, side)
		if m.Base != side || m.Same || m.Conflict != "" {
			t.Errorf("Extended(later %v): base %v same %v", side, m.Base, m.Same)
		}
		if m.Record.Metrics["test/acc"].Last != 0.9 || m.Record.Tags["verdict"] != "ship" || !m.Record.TagTimes["verdict"].Equal(t0.Add(2*time.Hour)) {
			t.Errorf("Extended(later %v) = %+v", side, m.Record)
		}
	}
	withTags := *added
	withTags.Tags, withTags.TagTimes = ended.Tags, ended.TagTimes
	if m := Extended(ended, &withTags, Theirs); !m.Same || m.Record != &withTags {
		t.Error("an addition that has the other's tags already is kept as it is")
	}
}
