package main

import "github.com/gitruns/gitruns/run"

type endCmd struct {
	Target   string `name:"run" placeholder:"RUN" help:"Run to end (default: GITRUNS_RUN)."`
	Status   string `default:"finished" enum:"finished,failed,killed" help:"Final status: finished, failed or killed."`
	ExitCode *int   `help:"Exit code of the run's command, if it had one."`
}

func (c *endCmd) Run(e *env) error {
	r, err := e.attach(c.Target)
	if err != nil {
		return err
	}
	return r.EndWithCode(run.Status(c.Status), c.ExitCode)
}
