package mlflow

import (
	"regexp"
	"strings"
	"testing"
)

// TestValidRunID: the hand-written check says what MLflow's pattern says.
func TestValidRunID(t *testing.T) {
	pattern := regexp.MustCompile(`^[a-zA-Z0-9][\w\-]{0,255}$`)
	for _, id := range []string{
		"", "a", "0123456789abcdef0123456789abcdef", "run_1-x", "_a", "-a", "a.b", "a/b", "a b",
		"é", "aé", strings.Repeat("a", 256), strings.Repeat("a", 257), "A-", "a\n",
	} {
		if got, want := validRunID(id), pattern.MatchString(id); got != want {
			t.Errorf("validRunID(%q) = %v, MLflow's pattern says %v", id, got, want)
		}
	}
}
