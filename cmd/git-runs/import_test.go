package main

import (
	"os/exec"
	"path/filepath"
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
