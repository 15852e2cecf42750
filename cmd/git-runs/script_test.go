package main

import (
	"flag"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rogpeppe/go-internal/testscript"
)

var update = flag.Bool("update", false, "rewrite golden sections of testdata/script/*.txt")

func TestMain(m *testing.M) {
	testscript.Main(m, map[string]func(){
		"git-runs": func() { os.Exit(Main(os.Args[1:], os.Stdout, os.Stderr)) },
	})
}

// TestScript runs testdata/script/*.txt: each a terminal session against
// the real binary in a fresh repository, with the real git as referee.
func TestScript(t *testing.T) {
	testscript.Run(t, testscript.Params{
		Dir:                 filepath.Join("..", "..", "testdata", "script"),
		RequireExplicitExec: true,
		UpdateScripts:       *update,
		Setup: func(env *testscript.Env) error {
			home := filepath.Join(env.WorkDir, ".home")
			if err := os.MkdirAll(home, 0o755); err != nil {
				return err
			}
			gitconfig := "[user]\n\tname = Ada Runner\n\temail = ada@example.com\n[init]\n\tdefaultBranch = main\n[advice]\n\tdetachedHead = false\n"
			if err := os.WriteFile(filepath.Join(home, ".gitconfig"), []byte(gitconfig), 0o644); err != nil {
				return err
			}
			env.Setenv("HOME", home)
			env.Setenv("XDG_CONFIG_HOME", filepath.Join(home, ".config"))
			env.Setenv("GIT_CONFIG_NOSYSTEM", "1")
			env.Setenv("NO_COLOR", "1")
			env.Setenv("USER", "ada")
			env.Setenv("GITRUNS_RUN", "")
			// NOGIT_PATH finds git-runs but not git, to test running without it.
			self, err := exec.LookPath("git-runs")
			if err != nil {
				return err
			}
			nogit := filepath.Join(env.WorkDir, ".nogit")
			if err := os.MkdirAll(nogit, 0o755); err != nil {
				return err
			}
			if err := os.Symlink(self, filepath.Join(nogit, "git-runs")); err != nil {
				return err
			}
			env.Setenv("NOGIT_PATH", nogit)
			return nil
		},
		Cmds: map[string]func(ts *testscript.TestScript, neg bool, args []string){
			"capture": cmdCapture,
		},
	})
}

// cmdCapture sets an environment variable to the last command's standard
// output, trimmed: "capture ID" after "exec git runs start".
func cmdCapture(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 1 {
		ts.Fatalf("usage: capture NAME")
	}
	ts.Setenv(args[0], strings.TrimSpace(ts.ReadFile("stdout")))
}
