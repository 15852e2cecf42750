package main

import (
	"bytes"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/rogpeppe/go-internal/testscript"
)

// TestImportScript runs testdata/import/*.txt: git runs import mlflow on
// the MLflow stores of testdata/mlflow (a file store and an SQLite
// database, written by gen.py there) and on copies changed as MLflow
// would change them, each a terminal session against the real binary,
// with git as referee. $MLFLOW is the fixtures' directory, $GEN their
// generator.
func TestImportScript(t *testing.T) {
	if _, err := exec.LookPath("python3"); err != nil {
		t.Fatal("needs python3 on PATH")
	}
	dir, err := filepath.Abs(filepath.Join("..", "..", "testdata", "mlflow"))
	if err != nil {
		t.Fatal(err)
	}
	p := scriptParams(filepath.Join("testdata", "import"))
	setup := p.Setup
	p.Setup = func(env *testscript.Env) error {
		env.Setenv("MLFLOW", dir)
		env.Setenv("GEN", filepath.Join(dir, "gen.py"))
		return setup(env)
	}
	p.Cmds["jsonget"] = cmdJSONGet
	p.Cmds["jsonis"] = cmdJSONIs
	testscript.Run(t, p)
}

// TestImportProgressOnTerminal: on a terminal, standard error shows a bar
// of the runs done, taken off the line before each message about an
// unreadable file and at the end; standard output, a pipe here, gets the
// plain lines.
func TestImportProgressOnTerminal(t *testing.T) {
	dir := initRepo(t)
	store, err := filepath.Abs(filepath.Join("..", "..", "testdata", "mlflow", "mlruns"))
	if err != nil {
		t.Fatal(err)
	}
	saved := progressDelay
	progressDelay = 0
	defer func() { progressDelay = saved }()
	var stdout bytes.Buffer
	term, code := mainOnTerminal(t, true, &stdout, "-C", dir, "import", "mlflow", store)
	if code != 1 {
		t.Errorf("exit %d, want 1 (the fixture's corrupt files)", code)
	}
	if !regexp.MustCompile(`\r\x1b\[Kimporting MLflow runs \[=+\] 9/9`).MatchString(term) {
		t.Errorf("no full bar on the terminal:\n%q", term)
	}
	// Every message starts a line of its own: after the bar was taken
	// off, or after another message.
	for i := 0; ; {
		j := strings.Index(term[i:], "git-runs: ")
		if j < 0 {
			break
		}
		at := i + j
		if at > 0 && !strings.HasSuffix(term[:at], "\r\x1b[K") && !strings.HasSuffix(term[:at], "\n") {
			t.Errorf("a message in the middle of the bar: %q", term[max(0, at-40):at+20])
		}
		i = at + 1
	}
	if n := strings.Count(term, "git-runs: "); n != 3 {
		t.Errorf("%d messages on the terminal, want 3 (two files, the end):\n%q", n, term)
	}
	if !strings.HasSuffix(strings.TrimRight(term, "\r\n"), "the rest was imported") {
		t.Errorf("the terminal does not end with the last message:\n%q", term)
	}
	if strings.Contains(stdout.String(), "\x1b") || strings.Count("\n"+stdout.String(), "\nimported ") != 9 {
		t.Errorf("standard output:\n%q", stdout.String())
	}
}
