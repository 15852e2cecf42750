package tracker_test

import (
	"context"
	"fmt"
	"log"
	"os"
	"os/exec"

	"github.com/gitruns/gitruns/gitstore"
	"github.com/gitruns/gitruns/run"
	"github.com/gitruns/gitruns/run/live"
	"github.com/gitruns/gitruns/run/tracker"
)

// A Go program meets git-runs through a Tracker: it opens the runs of a
// repository, records a run into it, then asks about the runs as
// `git runs ls`, `show` and `best` do. Every run is a commit under
// refs/runs/<id> that plain git can read.
func Example() {
	ctx := context.Background()
	dir, err := os.MkdirTemp("", "example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	if err := exec.Command("git", "init", "-q", dir).Run(); err != nil {
		log.Fatal(err)
	}

	// The git store is where the runs live; the tracker is what every
	// client (the command line, the server, this program) calls.
	repo, err := gitstore.Open(dir)
	if err != nil {
		log.Fatal(err)
	}
	defer repo.Close()
	t := tracker.New(repo, tracker.Options{})

	// Record two runs of a small sweep.
	for _, lr := range []float64{0.1, 0.01} {
		r, err := t.Start(ctx, live.Options{
			Name:   fmt.Sprintf("lr-%g", lr),
			Params: map[string]any{"lr": lr, "optimizer": map[string]any{"name": "adam"}},
		})
		if err != nil {
			log.Fatal(err)
		}
		for epoch := 0; epoch < 4; epoch++ {
			// NextStep continues the key's steps: 0, 1, 2, 3.
			loss := lr * 10 / float64(epoch+1)
			if err := r.LogMetric("loss", loss, live.NextStep); err != nil {
				log.Fatal(err)
			}
		}
		if err := r.SetTag("team", "vision"); err != nil {
			log.Fatal(err)
		}
		if err := r.End(run.Finished); err != nil {
			log.Fatal(err)
		}
	}

	// Read them back: every run, newest first, queried as on the command
	// line.
	rs, err := t.Runs(ctx)
	if err != nil {
		log.Fatal(err)
	}
	found, err := rs.Query(tracker.Query{Where: "params.lr < 0.05 and tags.team = 'vision'"})
	if err != nil {
		log.Fatal(err)
	}
	for _, r := range found {
		fmt.Println(r.Record.Name, r.Record.Status, r.Record.Params["optimizer.name"])
	}

	// The best run by its last loss, and that run's whole history.
	best, n, err := tracker.Best(rs.All, "loss", tracker.LowerIsBetter("loss"))
	if err != nil {
		log.Fatal(err)
	}
	h, err := t.History(ctx, best)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("best of %d: %s, loss %g at step %d of %d points\n", n, best.Record.Name,
		best.Record.Metrics["loss"].Last, best.Record.Metrics["loss"].Step, len(h["loss"]))
	// Output:
	// lr-0.01 finished adam
	// best of 2: lr-0.01, loss 0.025 at step 3 of 4 points
}
