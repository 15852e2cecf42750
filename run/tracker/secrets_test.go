package tracker_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/gitruns/gitruns/gitstore"
	"github.com/gitruns/gitruns/internal/secretcorpus"
	"github.com/gitruns/gitruns/run"
	"github.com/gitruns/gitruns/run/live"
	"github.com/gitruns/gitruns/run/tracker"
)

func gitIn(t *testing.T, dir string, args ...string) {
	t.Helper()
	cmd := exec.Command("git", args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GIT_AUTHOR_NAME=a", "GIT_AUTHOR_EMAIL=a@x", "GIT_COMMITTER_NAME=a",
		"GIT_COMMITTER_EMAIL=a@x", "GIT_CONFIG_NOSYSTEM=1", "GIT_CONFIG_GLOBAL=/dev/null")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("git %v: %v\n%s", args, err, out)
	}
}

func TestScanSecrets(t *testing.T) {
	corpus := secretcorpus.All()
	gh, aws, hf := corpus[2], corpus[0], corpus[9]
	dir := t.TempDir()
	gitIn(t, dir, "init", "-q", "-b", "main")
	write := func(p, s string) {
		t.Helper()
		must(t, os.MkdirAll(filepath.Dir(filepath.Join(dir, p)), 0o777))
		must(t, os.WriteFile(filepath.Join(dir, p), []byte(s), 0o666))
	}
	// A token committed with the code is not the run's to report.
	write("committed.txt", "old "+hf.Value+"\n")
	write("sub/train.py", "print(1)\n")
	gitIn(t, dir, "add", ".")
	gitIn(t, dir, "commit", "-q", "-m", "code")
	write("sub/notes.txt", "first line\nmy token "+gh.Value+"\n")
	write("clean.txt", "loss=0.3 commit 3f2a9c1e5b7d4a6f8e0c2b4d6f8a0c2e4b6d8f0a\n")
	art := filepath.Join(t.TempDir(), "art.json")
	must(t, os.WriteFile(art, []byte(`{"aws": "`+aws.Value+`"}`), 0o666))

	repo, err := gitstore.Open(dir)
	must(t, err)
	defer repo.Close()
	tr := tracker.New(repo, tracker.Options{})
	r, err := tr.Start(ctx, live.Options{Name: "leaky"})
	must(t, err)
	must(t, r.LogArtifact(art, "cfg/art.json"))
	must(t, r.End(run.Finished))
	clean := record(t, tr, "clean", map[string]any{"lr": 0.1})
	// Runs recorded before secrets were recognised by shape, or edited
	// by other tools, may hold them in their records.
	must(t, repo.Amend(r.ID(), func(rec *run.Record) error {
		rec.Tags["note"] = "see " + hf.Value
		rec.Params["url"] = "https://ada:Sup3rS3cretPw@example.com/x"
		return nil
	}))

	rs, err := tr.Runs(ctx)
	must(t, err)
	found, err := tr.ScanSecrets(ctx, rs.All)
	must(t, err)
	got := map[string][]string{}
	for _, f := range found {
		got[f.Run] = append(got[f.Run], f.Where+": "+f.Kind)
		for _, s := range corpus {
			if strings.Contains(f.Where+f.Kind, s.Value) {
				t.Errorf("finding %+v holds a secret", f)
			}
		}
	}
	for id, want := range map[string][]string{
		r.ID(): {
			"params.url: password in URL",
			"tags.note: Hugging Face token",
			"artifacts/cfg/art.json line 1: AWS access key",
			"snapshot: sub/notes.txt line 2: GitHub token",
		},
		// The same snapshot: the work tree had not changed.
		clean: {"snapshot: sub/notes.txt line 2: GitHub token"},
	} {
		if !slices.Equal(got[id], want) {
			t.Errorf("findings:\n%s\nwant:\n%s", strings.Join(got[id], "\n"), strings.Join(want, "\n"))
		}
	}
}
