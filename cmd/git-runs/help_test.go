package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestHelp keeps every command's help text as a golden file in
// testdata/help, so that a change to the CLI's words is a deliberate diff.
// Rewrite them with go test -run TestHelp -update.
func TestHelp(t *testing.T) {
	commands := []string{"", "exec", "start", "end", "param", "metric", "tag", "artifact", "ls", "show", "log", "rm", "experiment", "experiment ls", "experiment create", "experiment rename", "experiment rm", "experiment restore", "experiment tag", "experiment show", "watch", "checkout", "rerun", "diff", "compare", "best", "export", "plot", "push", "fetch", "pull", "remote", "import", "import mlflow", "import wandb", "serve", "ui", "man", "artifact get"}
	for _, c := range commands {
		name := strings.ReplaceAll(c, " ", "-")
		if name == "" {
			name = "git-runs"
		}
		t.Run(name, func(t *testing.T) {
			args := []string{"--help"}
			if c != "" {
				args = append(strings.Fields(c), "--help")
			}
			var out, errOut bytes.Buffer
			if code := Main(args, &out, &errOut); code != 0 {
				t.Fatalf("exit %d: %s", code, errOut.String())
			}
			golden := filepath.Join("testdata", "help", name+".txt")
			if *update {
				os.MkdirAll(filepath.Dir(golden), 0o755)
				if err := os.WriteFile(golden, out.Bytes(), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run go test -run TestHelp -update to create it)", err)
			}
			if got := out.String(); got != string(want) {
				t.Errorf("help changed; run go test -run TestHelp -update if intended\n--- got\n%s\n--- want\n%s", got, want)
			}
			if strings.Contains(out.String(), "--c=") {
				t.Errorf("a flag without a proper long name")
			}
		})
	}
}
