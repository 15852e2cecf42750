package main

import (
	"fmt"
	"os"
	"os/signal"
	"strconv"
	"syscall"
	"time"

	"github.com/gitruns/gitruns/run/capture"
	"github.com/gitruns/gitruns/run/sysmon"
	"github.com/gitruns/gitruns/run/tracker"
)

type execCmd struct {
	startFlags
	NoOutput        bool          `help:"Do not keep the command's output with the run."`
	OutputLimit     int64         `default:"10485760" placeholder:"BYTES" help:"Bytes of output kept: the first and last half of them, with a note of what was cut between."`
	NoOutputMetrics bool          `help:"Do not read metrics from the command's output."`
	MetricsPattern  string        `placeholder:"REGEX" help:"Read metrics from output lines with this regular expression instead of the default rules: named groups key and value, and optionally step."`
	NoArgvParams    bool          `help:"Do not take params from the command line (--lr 0.01, --lr=0.01, optimizer.lr=0.01)."`
	Env             []string      `sep:"none" placeholder:"NAME" help:"Also record this environment variable (never one whose name says it is a secret). Repeatable."`
	PythonPackages  bool          `help:"Record the installed packages of the Python the command runs."`
	SystemInterval  time.Duration `default:"10s" help:"How often to sample the command's CPU and memory, the machine's memory, disk and network, and its GPUs, as metrics under system/."`
	NoSystemMetrics bool          `help:"Do not sample system metrics."`
	Command         []string      `arg:"" passthrough:"partial" help:"The command to run, usually after --."`
}

func (c *execCmd) Help() string {
	return `Runs COMMAND with its input and output passed through (a terminal stays a
terminal, so colours and progress bars work) and records it as a run: the
code it ran (HEAD plus a snapshot of uncommitted changes), the command,
params from its command line (--lr 0.01, --lr=0.01, optimizer.lr=0.01),
its output, metrics printed in the output (loss: 0.31, acc=0.9, with the
step from "epoch 3" or "step=1200" on the same line), the host, chosen
environment variables, what it cost the machine (system/cpu_percent,
system/rss_mb, system/gpu0/util_percent, ... every --system-interval), and
how it ended. Secrets are never recorded: a
variable whose name contains KEY, TOKEN, SECRET, PASSWORD, PASSWD,
CREDENTIAL, AUTH, COOKIE, SESSION or PRIVATE is left out, and its value
is redacted wherever it would appear, as are tokens, keys and passwords
recognised by their shape (ghp_..., sk-..., AKIA..., https://u:pw@host,
password: ...); files such as .env, id_rsa and credentials.json stay out
of the snapshot. See docs/CAPTURE.md.

The command sees GITRUNS_RUN set to the run's id, so "git runs metric" and
the SDKs log into this run. Ctrl-C or SIGTERM reaches the command, the run
ends killed, and git runs exec exits as the command did.

  git runs exec -- python train.py --lr 0.01
  git runs exec -p seed=1 -t team=vision -- ./train.sh`
}

func (c *execCmd) Run(e *env) error {
	if len(c.Command) > 0 && c.Command[0] == "--" {
		c.Command = c.Command[1:]
	}
	opts, err := c.options()
	if err != nil {
		return err
	}
	if err := sysmon.CheckInterval(c.SystemInterval); err != nil {
		return fmt.Errorf("--system-interval: %w", err)
	}
	t, err := e.tracker()
	if err != nil {
		return err
	}
	res, err := t.Exec(e.ctx, capture.ExecOptions{
		Options: opts, Args: c.Command, Dir: e.dir,
		NoOutput: c.NoOutput, OutputLimit: c.OutputLimit,
		NoOutputMetrics: c.NoOutputMetrics, MetricsPattern: c.MetricsPattern,
		NoArgvParams: c.NoArgvParams, EnvNames: c.Env, PythonPackages: c.PythonPackages,
		NoSystemMetrics: c.NoSystemMetrics, SystemInterval: c.SystemInterval,
	})
	if err != nil && res.ID == "" {
		return err // nothing was recorded
	}
	code := res.ExitCode
	if e.ttyErr != nil {
		c.sayRecorded(e, t, res)
	}
	if err != nil {
		// The run is not recorded as it should be: a script must not go on
		// as if it were, even when the command succeeded.
		e.warn("%v", err)
		if code == 0 {
			code = 1
		}
	}
	if res.Signal != 0 {
		// Die of the same signal, so that a shell sees what the command
		// did. A Ctrl-C that reached the command alone goes to our whole
		// process group, as the terminal would have sent it without the
		// command's job: the git that runs us as git runs then dies of it
		// too, and the shell stops a list of commands, as it does after
		// a command that a Ctrl-C killed.
		signal.Reset(res.Signal)
		if res.FromTerminal {
			syscall.Kill(0, res.Signal)
		}
		syscall.Kill(os.Getpid(), res.Signal)
	}
	return exitCode(code)
}

// sayRecorded tells a person at a terminal which run the command became
// and how to look at it: one line, after the command's own output.
func (c *execCmd) sayRecorded(e *env, t *tracker.Tracker, res capture.ExecResult) {
	name := ""
	if r, err := t.Get(e.ctx, res.ID); err == nil {
		name = " " + strconv.Quote(r.Record.Name)
	}
	e.warn("recorded run %s%s, %s: git runs show %s", short(res.ID), name, res.Status, short(res.ID))
}
