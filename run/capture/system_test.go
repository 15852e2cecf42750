package capture

import "testing"

// TestParseNoSystemKeys checks that a program cannot print its way into
// the system metrics that git runs exec samples: keys under system/ are
// dropped by the default rules, their tables, and a pattern alike, while
// the other keys of the same lines are read.
func TestParseNoSystemKeys(t *testing.T) {
	def, _ := NewParser("")
	pat, err := NewParser(`(?P<key>[\w/]+)=(?P<value>\S+)`)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		p    *Parser
		line string
		want string
	}{
		{def, "system/cpu_percent=99 loss=0.5", "loss=0.5@-"},
		{def, "step 3 | system/gpu0/util_percent 80 | loss 0.25", "loss=0.25@3"},
		{def, `{"system/rss_mb": 12, "acc": 0.9}`, "acc=0.9@-"},
		{def, "my_system/cpu=1", "my_system/cpu=1@-"}, // only the namespace itself
		{pat, "system/cpu_percent=99 loss=0.5", "loss=0.5@-"},
	} {
		if got := pts(c.p.Parse([]byte(c.line), nil)); got != c.want {
			t.Errorf("%q: got %s, want %s", c.line, got, c.want)
		}
	}
	s := def.Stream()
	var got []Point
	for _, l := range []string{"epoch  system/cpu_percent  train_loss", "0  99.0  0.512"} {
		got = s.Parse([]byte(l), got)
	}
	if got, want := pts(got), "train_loss=0.512@0"; got != want {
		t.Errorf("table: got %s, want %s", got, want)
	}
}
