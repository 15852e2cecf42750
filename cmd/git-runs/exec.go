package main

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"syscall"

	"github.com/gitruns/gitruns/run"
)

type execCmd struct {
	startFlags
	Command []string `arg:"" passthrough:"partial" help:"The command to run, usually after --."`
}

func (c *execCmd) Help() string {
	return `Runs COMMAND with its standard input, output and error passed through, and
records it as a run: the code it ran (HEAD, plus a snapshot of uncommitted
changes), the command, the host, its status and exit code. The command sees
GITRUNS_RUN set to the run's id, so that "git runs metric" and the SDKs log
into this run. git runs exec exits as COMMAND did.

  git runs exec -- python train.py --lr 0.01
  git runs exec -p lr=0.01 -t team=vision -- ./train.sh`
}

func (c *execCmd) Run(e *env) error {
	if len(c.Command) > 0 && c.Command[0] == "--" {
		c.Command = c.Command[1:]
	}
	if len(c.Command) == 0 {
		return errors.New("exec: no command given (git runs exec -- COMMAND [ARGS...])")
	}
	opts, err := c.options()
	if err != nil {
		return err
	}
	opts.Command = c.Command
	path, lookErr := exec.LookPath(c.Command[0])
	repo, err := e.open()
	if err != nil {
		return err
	}
	r, err := run.Start(repo, opts)
	if err != nil {
		return err
	}
	if lookErr != nil {
		code := 127
		if err := r.EndWithCode(run.Failed, &code); err != nil {
			e.warn("%v", err)
		}
		e.warn("exec %s: %v", c.Command[0], lookErr)
		return exitCode(code)
	}

	cmd := exec.Command(path, c.Command[1:]...)
	cmd.Args[0] = c.Command[0]
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	cmd.Env = append(os.Environ(), "GITRUNS_RUN="+r.ID())
	// A terminal's Ctrl-C reaches the child directly (same process group);
	// exec stays alive to record how the child ended, and passes on
	// signals sent to it alone.
	sigs := make(chan os.Signal, 4)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM, syscall.SIGHUP)
	defer signal.Stop(sigs)
	if err := cmd.Start(); err != nil {
		code := 126
		r.EndWithCode(run.Failed, &code)
		return fmt.Errorf("exec %s: %w", c.Command[0], err)
	}
	var signalled bool
	waited := make(chan error, 1)
	go func() { waited <- cmd.Wait() }()
	var werr error
wait:
	for {
		select {
		case s := <-sigs:
			signalled = true
			cmd.Process.Signal(s)
		case werr = <-waited:
			break wait
		}
	}
	status, code := run.Finished, 0
	if werr != nil {
		var xe *exec.ExitError
		if !errors.As(werr, &xe) {
			r.EndWithCode(run.Failed, nil)
			return fmt.Errorf("exec %s: %w", c.Command[0], werr)
		}
		ws, _ := xe.Sys().(syscall.WaitStatus)
		switch {
		case ws.Signaled():
			status, code = run.Killed, 128+int(ws.Signal())
		default:
			status, code = run.Failed, xe.ExitCode()
			if signalled {
				status = run.Killed
			}
		}
	}
	if err := r.EndWithCode(status, &code); err != nil {
		e.warn("%v", err)
		if code == 0 {
			code = 1
		}
	}
	return exitCode(code)
}
