package mlflow_test

import (
	"database/sql"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gitruns/gitruns/run/importer"
	"github.com/gitruns/gitruns/run/importer/mlflow"
	"github.com/gitruns/gitruns/run/mlflowtags"
)

// TestHostileFileStore imports a file store made to hurt its reader:
// symbolic links out of the store (as artifacts, as the artifacts
// directory, as a param, as a run), files larger than any MLflow writes,
// keys git-runs cannot hold, an artifact over the size limit. Nothing
// outside the store is read, each bad part is named, the rest imported.
func TestHostileFileStore(t *testing.T) {
	dir, _, tr, _ := repo(t)
	src := generate(t)
	root := filepath.Join(src, "mlruns")
	secret := filepath.Join(t.TempDir(), "secret.txt")
	write(t, secret, "do not import me")
	run := filepath.Join(root, "0", "a1b2c3d4e5f60718293a4b5c6d7e8f90")
	link(t, secret, filepath.Join(run, "artifacts", "stolen.txt"))
	link(t, secret, filepath.Join(run, "params", "stolen"))
	link(t, filepath.Dir(secret), filepath.Join(run, "artifacts", "stolen-dir"))
	other := filepath.Join(root, "0", "b1b2c3d4e5f60718293a4b5c6d7e8f91")
	os.RemoveAll(filepath.Join(other, "artifacts"))
	link(t, filepath.Dir(secret), filepath.Join(other, "artifacts"))
	link(t, run, filepath.Join(root, "0", "ee000000000000000000000000000001"))
	// Larger than MLflow writes: sparse, so the test writes little; read,
	// it would be hundreds of megabytes.
	sparse(t, filepath.Join(run, "metrics", "huge"), 300<<20)
	sparse(t, filepath.Join(run, "tags", "huge"), 1<<20)
	sparse(t, filepath.Join(root, "2", "aa000000000000000000000000000010", "meta.yaml"), 1<<30)
	write(t, filepath.Join(run, "params", "bad\nkey"), "1")
	write(t, filepath.Join(run, "artifacts", "big.bin"), strings.Repeat("x", 2000))

	res, err := importer.Import(ctx, tr, mustFileStore(t, root), importer.Options{MaxArtifact: 1000})
	if err != nil {
		t.Fatal(err)
	}
	var msgs []string
	for _, p := range res.Problems {
		msgs = append(msgs, p.Error())
	}
	all := strings.Join(msgs, "\n")
	for _, want := range []string{
		"artifacts/stolen.txt: a symbolic link: not followed",
		"artifacts/stolen-dir: a symbolic link: not followed",
		"params/stolen: a symbolic link: not followed",
		"b1b2c3d4e5f60718293a4b5c6d7e8f91/artifacts: a symbolic link: not followed",
		"ee000000000000000000000000000001: a symbolic link: not followed",
		"metrics/huge: larger than",
		"tags/huge: larger than",
		"aa000000000000000000000000000010/meta.yaml: larger than",
		`invalid param key "bad\nkey": newline is not allowed`,
	} {
		if !strings.Contains(all, want) {
			t.Errorf("no problem %q among:\n%s", want, all)
		}
	}
	rs, err := tr.Runs(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range rs.All {
		arts, err := tr.Artifacts(ctx, r)
		if err != nil {
			t.Fatal(err)
		}
		for _, a := range arts {
			rc, err := tr.OpenArtifact(ctx, r, a.Path)
			if err != nil {
				t.Fatal(err)
			}
			b := make([]byte, 100)
			n, _ := rc.Read(b)
			rc.Close()
			if strings.Contains(string(b[:n]), "do not import me") {
				t.Errorf("run %s holds the file outside the store as %s", r.Record.Name, a.Path)
			}
			if a.Path == "big.bin" {
				t.Errorf("run %s holds big.bin, over the limit", r.Record.Name)
			}
		}
		if r.Record.Tags[mlflowtags.RunID] == "a1b2c3d4e5f60718293a4b5c6d7e8f90" {
			if got := r.Record.Tags[importer.TagNotCopied]; got != "2000 big.bin" {
				t.Errorf("tag %s = %q", importer.TagNotCopied, got)
			}
			if _, ok := r.Record.Params["stolen"]; ok {
				t.Error("the param through a link was imported")
			}
		}
	}
	git(t, dir, "fsck", "--full", "--strict")
}

func mustFileStore(t *testing.T, root string) *mlflow.FileStore {
	t.Helper()
	s, err := mlflow.OpenFileStore(root)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func write(t *testing.T, path, s string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(s), 0o644); err != nil {
		t.Fatal(err)
	}
}

func link(t *testing.T, target, path string) {
	t.Helper()
	if err := os.Symlink(target, path); err != nil {
		t.Fatal(err)
	}
}

func sparse(t *testing.T, path string, size int64) {
	t.Helper()
	write(t, path, "")
	if err := os.Truncate(path, size); err != nil {
		t.Fatal(err)
	}
}

// TestHostileSQLite: a database naming artifact locations outside its
// own directory (absolute, relative, through a link) has none of them
// read; one whose tables are views is refused.
func TestHostileSQLite(t *testing.T) {
	_, _, tr, _ := repo(t)
	src := generate(t)
	outside := t.TempDir()
	write(t, filepath.Join(outside, "artifacts", "secret.txt"), "do not import me")
	link(t, outside, filepath.Join(src, "mlartifacts", "link"))
	db := filepath.Join(src, "mlflow.db")
	exec := func(q string, args ...any) {
		t.Helper()
		w, err := sql.Open("sqlite", db)
		if err != nil {
			t.Fatal(err)
		}
		defer w.Close()
		if _, err := w.Exec(q, args...); err != nil {
			t.Fatal(err)
		}
	}
	exec("UPDATE runs SET artifact_uri = ? WHERE name = 'baseline'", "file://"+filepath.Join(outside, "artifacts"))
	exec("UPDATE runs SET artifact_uri = ? WHERE name = 'crashed-one'", "../"+filepath.Base(outside)+"/artifacts")
	exec("UPDATE runs SET artifact_uri = 'mlflow-artifacts:/link/artifacts' WHERE name = 'long'")
	s, err := mlflow.OpenSQLite(ctx, db)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if _, err := importer.Import(ctx, tr, s, importer.Options{}); err != nil {
		t.Fatal(err)
	}
	rs, err := tr.Runs(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range rs.All {
		arts, err := tr.Artifacts(ctx, r)
		if err != nil {
			t.Fatal(err)
		}
		for _, a := range arts {
			if a.Path == "secret.txt" {
				t.Errorf("run %s holds a file from outside the database's directory", r.Record.Name)
			}
		}
	}

	exec("ALTER TABLE params RENAME TO params_real")
	exec("CREATE VIEW params AS SELECT * FROM params_real")
	if _, err := mlflow.OpenSQLite(ctx, db); err == nil || !strings.Contains(err.Error(), "no table params") {
		t.Errorf("a database whose params are a view: %v", err)
	}
}
