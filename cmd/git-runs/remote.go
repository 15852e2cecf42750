package main

import (
	"fmt"

	"github.com/gitruns/gitruns/gitstore"
)

type remoteCmd struct {
	Setup  remoteSetupCmd  `cmd:"" help:"Make plain git fetch and git pull bring runs from REMOTE."`
	Status remoteStatusCmd `cmd:"" help:"Count the runs only here, only on REMOTE, and different."`
}

type remoteSetupCmd struct {
	Remote string `arg:"" optional:"" name:"REMOTE" help:"Remote (default: the branch's remote, else origin)."`
}

func (c *remoteSetupCmd) Run(e *env) error {
	repo, remote, err := e.remote(c.Remote)
	if err != nil {
		return err
	}
	added, err := repo.SetupRemote(remote)
	if err != nil {
		return err
	}
	if added {
		fmt.Fprintf(e.stdout, "%s: git fetch now brings runs too (remote.%s.fetch += +refs/runs/*:refs/runs/*)\n", remote, remote)
	} else {
		fmt.Fprintf(e.stdout, "%s: already set up\n", remote)
	}
	return nil
}

type remoteStatusCmd struct {
	Remote string `arg:"" optional:"" name:"REMOTE" help:"Remote (default: the branch's remote, else origin)."`
}

func (c *remoteStatusCmd) Run(e *env) error {
	repo, remote, err := e.remote(c.Remote)
	if err != nil {
		return err
	}
	theirs, err := repo.RemoteRuns(remote)
	if err != nil {
		return err
	}
	ours, err := repo.LocalRuns()
	if err != nil {
		return err
	}
	onlyHere, onlyThere, differ := 0, 0, 0
	for id, h := range ours {
		t, ok := theirs[id]
		switch {
		case !ok:
			onlyHere++
		case t != h:
			differ++
		}
	}
	for id := range theirs {
		if _, ok := ours[id]; !ok {
			onlyThere++
		}
	}
	fmt.Fprintf(e.stdout, "%s: %d runs only here, %d only on %s, %d differ, %d the same\n",
		remote, onlyHere, onlyThere, remote, differ, len(ours)-onlyHere-differ)
	return nil
}

// remote opens the repository and names the remote to use: name, else
// the current branch's remote, else origin.
func (e *env) remote(name string) (*gitstore.Repo, string, error) {
	repo, err := e.open()
	if err != nil {
		return nil, "", err
	}
	if name == "" {
		name = repo.DefaultRemote()
	}
	return repo, name, nil
}
