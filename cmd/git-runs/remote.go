package main

import (
	"fmt"

	"github.com/gitruns/gitruns/run/tracker"
)

type remoteCmd struct {
	Setup  remoteSetupCmd  `cmd:"" help:"Make plain git fetch and git pull bring runs from REMOTE."`
	Status remoteStatusCmd `cmd:"" help:"Count the runs only here, only on REMOTE, and different."`
}

type remoteSetupCmd struct {
	Remote string `arg:"" optional:"" name:"REMOTE" help:"Remote (default: the branch's remote, else origin)."`
}

func (c *remoteSetupCmd) Run(e *env) error {
	t, remote, err := e.remote(c.Remote)
	if err != nil {
		return err
	}
	added, err := t.SetupRemote(e.ctx, remote)
	if err != nil {
		return err
	}
	if added {
		fmt.Fprintf(e.stdout, "%s: git fetch now brings runs too, for the next git runs command to merge\n", remote)
	} else {
		fmt.Fprintf(e.stdout, "%s: already set up\n", remote)
	}
	return nil
}

type remoteStatusCmd struct {
	Remote string `arg:"" optional:"" name:"REMOTE" help:"Remote (default: the branch's remote, else origin)."`
}

func (c *remoteStatusCmd) Run(e *env) error {
	t, remote, err := e.remote(c.Remote)
	if err != nil {
		return err
	}
	st, err := t.CompareRemote(e.ctx, remote)
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "%s: %d runs only here, %d only on %s, %d differ, %d the same\n",
		remote, st.OnlyHere, st.OnlyThere, remote, st.Differ, st.Same)
	return nil
}

// remote opens the tracker and names the remote to use: name, else the
// current branch's remote, else origin.
func (e *env) remote(name string) (*tracker.Tracker, string, error) {
	t, err := e.tracker()
	if err != nil {
		return nil, "", err
	}
	if name == "" {
		if name, err = t.DefaultRemote(); err != nil {
			return nil, "", err
		}
	}
	return t, name, nil
}
