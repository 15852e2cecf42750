package main

type fetchCmd struct {
	Remote string `arg:"" optional:"" name:"REMOTE" help:"Remote to fetch from (default: the branch's remote, else origin)."`
}

func (c *fetchCmd) Help() string {
	return `Brings the remote's runs, and the code each of them ran, through your own
git, and merges them with the runs here: tags edited on both sides are
all kept (the later edit of a tag wins), a run's final record replaces
its checkpoints, and a run deleted on either side stays deleted. Two
finished copies of a run that differ in more than their tags are not
merged: the one here is kept, and a warning says so. New runs are marked
in git runs ls as fetched from REMOTE until you look at them with
git runs show. After git runs remote setup, a plain git fetch or git pull
brings runs too, and the next git runs command merges them.`
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
	reportMerged(e, remote, res)
	return nil
}

// pullCmd is fetch, for everyone who expects the word.
type pullCmd struct{ fetchCmd }
