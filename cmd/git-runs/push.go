package main

import (
	"errors"
	"fmt"
	"io"

	"github.com/gitruns/gitruns/run"
	"github.com/gitruns/gitruns/run/tracker"
)

type pushCmd struct {
	Remote string   `arg:"" optional:"" name:"REMOTE" help:"Remote to push to (default: the branch's remote, else origin)."`
	Runs   []string `arg:"" optional:"" name:"RUN" help:"Runs to push (default: all)."`
	Where  string   `placeholder:"EXPR" help:"Push the runs matching EXPR."`

	AllowSecrets bool `help:"Push even runs in which secrets were found (see above)."`
}

func (c *pushCmd) Help() string {
	return `Sends runs, with the code they ran, to a git remote, through your own git
(so credentials, ssh configuration and insteadOf apply as for your code).
A running run may be pushed; pushing it again later updates it. Runs
deleted here are deleted there too (their tombstones travel).

Before sending, push scans what it would send (records, output, artifacts
and the uncommitted files of each run's snapshot) for secrets: tokens and
keys by their shape, passwords in URLs, private keys, files like .env. It
refuses to push when it finds one, naming the run and the place; pass
--allow-secrets to push anyway.

Push never overwrites what a teammate pushed: a run is replaced on the
remote only if it is still what your last fetch saw there. Otherwise
push fetches, merges (see git runs fetch --help) and tries again, and
says what it merged.

  git runs push
  git runs push origin @ brave-otter-42
  git runs push --where "metrics.acc > 0.9"`
}

// progressTo returns where git's progress should go: the terminal, or
// nowhere when standard error is not one.
func progressTo(e *env) io.Writer {
	if e.ttyErr != nil {
		return e.ttyErr
	}
	return nil
}

func (c *pushCmd) Run(e *env) error {
	t, remote, err := e.remote(c.Remote)
	if err != nil {
		return err
	}
	var picked []tracker.Run // nil: every run
	if len(c.Runs) > 0 || c.Where != "" {
		_, rs, err := e.runs()
		if err != nil {
			return err
		}
		if picked, err = rs.Select(c.Runs, c.Where); err != nil {
			return err
		}
		if len(picked) == 0 {
			return errors.New("push: no run matches")
		}
	}
	res, err := t.Push(e.ctx, remote, picked, tracker.PushOptions{Progress: progressTo(e), AllowSecrets: c.AllowSecrets})
	var secrets *tracker.SecretsError
	if errors.As(err, &secrets) {
		for _, f := range secrets.Findings {
			fmt.Fprintf(e.stderr, "git-runs: %s\n", tracker.FormatSecretFinding(f))
		}
		return fmt.Errorf("push: refused: %d secret(s) found in what would be sent to %s; remove them (git runs rm), or pass --allow-secrets", len(secrets.Findings), remote)
	}
	if err != nil {
		return err
	}
	return reportPush(e, remote, res, "sent")
}

// reportMerged prints what merging a remote's runs did here, on one line,
// and each conflict on one more.
func reportMerged(e *env, remote string, res *run.FetchResult) {
	if res == nil {
		return
	}
	fmt.Fprintf(e.stdout, "%s: %d new runs, %d updated, %d deleted", remote, len(res.New), len(res.Updated), len(res.Deleted))
	if n := len(res.Conflicts); n > 0 {
		fmt.Fprintf(e.stdout, ", %d in conflict", n)
	}
	fmt.Fprintln(e.stdout)
}

// reportPush prints what a push did, run by run for rejections, and fails
// when anything was rejected.
func reportPush(e *env, remote string, rep *run.PushReport, verb string) error {
	if rep.Merged != nil {
		fmt.Fprintf(e.stdout, "%s had edits not here: merged them before pushing again\n", remote)
		reportMerged(e, remote, rep.Merged)
	}
	counts := map[string]int{}
	var rejected []run.PushResult
	for _, r := range rep.Results {
		counts[r.Status]++
		if r.Status == "rejected" {
			rejected = append(rejected, r)
		}
	}
	size := ""
	if rep.Bytes > 0 && rep.Runs > 0 {
		size = " (" + run.FormatSize(rep.Bytes) + ")"
	}
	fmt.Fprintf(e.stdout, "%s: %d %s%s, %d already there, %d rejected\n", remote, counts[verb], verb, size, counts["up to date"], len(rejected))
	for _, r := range rejected {
		fmt.Fprintf(e.stdout, "  rejected refs/runs/%s: %s\n", r.ID, r.Reason)
	}
	if len(rejected) > 0 {
		return fmt.Errorf("%s refused %d run(s): %s", remote, len(rejected), rejected[0].Reason)
	}
	return nil
}
