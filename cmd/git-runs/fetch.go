package main

import "fmt"

type fetchCmd struct {
	Remote string `arg:"" optional:"" name:"REMOTE" help:"Remote to fetch from (default: the branch's remote, else origin)."`
}

func (c *fetchCmd) Help() string {
	return `Brings the remote's runs, and the code each of them ran, through your own
git. New runs are marked in git runs ls as fetched from REMOTE until you
look at them with git runs show. After git runs remote setup, a plain git
fetch or git pull brings runs too.`
}

func (c *fetchCmd) Run(e *env) error {
	t, remote, err := e.remote(c.Remote)
	if err != nil {
		return err
	}
	res, err := t.Fetch(e.ctx, remote, progressTo(e))
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "%s: %d new runs, %d updated\n", remote, len(res.New), len(res.Updated))
	return nil
}

// pullCmd is fetch, for everyone who expects the word.
type pullCmd struct{ fetchCmd }
