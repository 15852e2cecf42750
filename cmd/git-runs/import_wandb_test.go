package main

import (
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/rogpeppe/go-internal/testscript"
)

// TestImportWandbScript runs testdata/import-wandb/*.txt: git runs
// import wandb on the W&B run directories testdata/wandb/gen.py writes
// ($GEN), against the real binary with git as referee.
func TestImportWandbScript(t *testing.T) {
	if _, err := exec.LookPath("python3"); err != nil {
		t.Fatal("needs python3 on PATH")
	}
	gen, err := filepath.Abs(filepath.Join("..", "..", "testdata", "wandb", "gen.py"))
	if err != nil {
		t.Fatal(err)
	}
	p := scriptParams(filepath.Join("testdata", "import-wandb"))
	setup := p.Setup
	p.Setup = func(env *testscript.Env) error {
		env.Setenv("GEN", gen)
		return setup(env)
	}
	p.Cmds["jsonget"] = cmdJSONGet
	p.Cmds["jsonis"] = cmdJSONIs
	testscript.Run(t, p)
}
