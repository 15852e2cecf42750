package main

import "github.com/gitruns/gitruns/run/live"

type paramCmd struct {
	Target string   `name:"run" placeholder:"RUN" help:"Run to log into (default: GITRUNS_RUN)."`
	Params []string `arg:"" name:"KEY=VALUE" help:"Params to set; VALUE is read as a TOML literal (10, 0.01, true, [1, 2]) where it is one, else as a string."`
}

func (c *paramCmd) Help() string {
	return `Params are write-once: setting a param again to the same value does
nothing, to another value is an error. A run that has ended takes no new
params: they say how it ran. A dotted key (optimizer.lr) is stored as a
nested table.

  git runs param lr=0.01 optimizer=adam layers=[64,32]`
}

func (c *paramCmd) Run(e *env) error {
	params, err := parseParams(c.Params)
	if err != nil {
		return err
	}
	l, err := e.logger(c.Target)
	if err != nil {
		return err
	}
	return closeLogger(l, l.LogParams(params))
}

// closeAfter closes an attached run whatever happened, keeping the first
// error.
func closeAfter(r *live.Run, err error) error {
	if cerr := r.Close(); err == nil {
		err = cerr
	}
	return err
}
