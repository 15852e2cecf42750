package live_test

import (
	"testing"

	"github.com/gitruns/gitruns/gitstore"
	"github.com/gitruns/gitruns/run"
	"github.com/go-git/go-git/v5/plumbing"
)

func plumbingHash(s string) plumbing.Hash { return plumbing.NewHash(s) }

// loadRun reads the committed record and history of run id.
func loadRun(t *testing.T, repo *gitstore.Repo, id string) (*run.Record, run.History) {
	t.Helper()
	c, rec, err := repo.Load(id)
	if err != nil {
		t.Fatal(err)
	}
	hist, err := repo.History(plumbingHash(c))
	if err != nil {
		t.Fatal(err)
	}
	return rec, hist
}
