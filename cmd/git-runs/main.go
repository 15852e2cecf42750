// Command git-runs records machine-learning runs in the git repository
// they ran from. Installed on PATH it also answers as "git runs".
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"runtime/debug"
	"runtime/pprof"
	"strings"

	"github.com/alecthomas/kong"
)

// version is set at build time with -ldflags "-X main.version=…"; a
// binary built by go install reports its module version instead.
var version = ""

func versionString() string {
	if version != "" {
		return version
	}
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
		return bi.Main.Version
	}
	return "dev"
}

// cli is the command line: one field per command, each defined in a file
// of its own.
type cli struct {
	Dir     string           `short:"C" name:"dir" placeholder:"DIR" help:"Run as if started in DIR, as git -C does."`
	NoPager bool             `help:"Do not send long output (ls, show, diff, compare) through a pager."`
	Version kong.VersionFlag `help:"Print the version and exit."`

	Exec       execCmd       `cmd:"" help:"Run a command and record it as a run."`
	Start      startCmd      `cmd:"" help:"Start a run and print its id (for shells and SDKs)."`
	End        endCmd        `cmd:"" help:"End a run started with start."`
	Param      paramCmd      `cmd:"" help:"Set params of a live run."`
	Metric     metricCmd     `cmd:"" help:"Log metric values into a run, live or finished."`
	Tag        tagCmd        `cmd:"" help:"Set tags of a run, live or finished."`
	Artifact   artifactCmd   `cmd:"" help:"Store files with a run, live or finished, or get one back (artifact get)."`
	Ls         lsCmd         `cmd:"" help:"List runs, newest first."`
	Show       showCmd       `cmd:"" help:"Show one run."`
	Log        logCmd        `cmd:"" help:"Print a run's whole output log."`
	Rm         rmCmd         `cmd:"" help:"Delete runs."`
	Experiment experimentCmd `cmd:"" help:"List, create, rename, delete and tag experiments."`
	Watch      watchCmd      `cmd:"" help:"Follow a live run: its output and metrics as they come."`
	Checkout   checkoutCmd   `cmd:"" help:"Put a run's exact source into the work tree."`
	Rerun      rerunCmd      `cmd:"" help:"Run a run's command again at its source and compare."`
	Diff       diffCmd       `cmd:"" help:"Show what differs between two runs, code included."`
	Compare    compareCmd    `cmd:"" help:"Show runs side by side, a column per run."`
	Best       bestCmd       `cmd:"" help:"Print the run with the best value of a metric."`
	Export     exportCmd     `cmd:"" help:"Write histories or runs as CSV or JSON lines."`
	Plot       plotCmd       `cmd:"" help:"Draw a metric's history for several runs in the terminal."`
	Push       pushCmd       `cmd:"" help:"Send runs, with their code, to a git remote."`
	Fetch      fetchCmd      `cmd:"" help:"Bring runs from a git remote."`
	Pull       pullCmd       `cmd:"" help:"Same as fetch."`
	Remote     remoteCmd     `cmd:"" help:"Set up a remote for runs, or compare runs with it."`
	Import     importCmd     `cmd:"" help:"Import runs from MLflow's stores and servers, and W&B's offline runs."`
	Serve      serveCmd      `cmd:"" help:"Serve MLflow's tracking API over this repository."`
	UI         uiCmd         `cmd:"" name:"ui" help:"Serve the web UI of this repository's runs and open it."`
	Man        manCmd        `cmd:"" help:"Write the manual pages (git runs --help shows them)."`
}

const description = `Record machine-learning runs in your git repository.

Each run is a commit under refs/runs/<id> holding its params, metrics
with their history, tags, command and artifacts, whose parents are the
exact code it ran. Runs need no server and travel with git push and git
fetch.

  git runs exec -- python train.py --lr 0.01   record a run
  git runs ls                                  list runs
  git runs show @                              show the newest run

RUN, wherever a command takes one, is a run id, a unique id prefix of 4
or more characters, a run name, @ (the newest run) or @~N (the Nth run
before it).`

// exitCode is returned by a command that ends the process with a given
// status and nothing to print, as exec does with its child's status.
type exitCode int

func (e exitCode) Error() string { return fmt.Sprintf("exit status %d", int(e)) }

func main() {
	if os.Getenv("GOGC") == "" {
		// A command lives for a moment, and listings stream records that
		// die at once: collecting at a quarter of the default rate halved
		// ls --json over a million runs (10.8 s to 5.3 s; 88 to 116 MB).
		// Building the index sets its own rate (gitstore/index.go).
		debug.SetGCPercent(400)
	}
	// GITRUNS_CPUPROFILE=file writes a CPU profile of this command, for
	// the benchmarks in docs/BENCHMARKS.md.
	if p := os.Getenv("GITRUNS_CPUPROFILE"); p != "" {
		if f, err := os.Create(p); err == nil {
			pprof.StartCPUProfile(f)
			code := Main(os.Args[1:], os.Stdout, os.Stderr)
			pprof.StopCPUProfile()
			f.Close()
			os.Exit(code)
		}
	}
	os.Exit(Main(os.Args[1:], os.Stdout, os.Stderr))
}

// Main runs git-runs with args and returns the process exit status.
func Main(args []string, stdout, stderr io.Writer) int {
	var c cli
	code := -1
	parser, err := kong.New(&c,
		kong.Name("git runs"),
		kong.Description(description),
		kong.Vars{"version": "git-runs " + versionString()},
		kong.UsageOnError(),
		// --sort -metrics.acc: a value may start with a dash.
		kong.WithHyphenPrefixedParameters(true),
		kong.ConfigureHelp(kong.HelpOptions{Compact: true}),
		kong.Writers(stdout, stderr),
		kong.Exit(func(n int) { code = n; panic(exitPanic{}) }),
	)
	if err != nil {
		fmt.Fprintf(stderr, "git-runs: %v\n", err)
		return 2
	}
	if noCommand(args) {
		listCommands(stdout, parser.Model.Node)
		return 0
	}
	var kctx *kong.Context
	func() {
		defer func() {
			if r := recover(); r != nil {
				if _, ok := r.(exitPanic); !ok {
					panic(r)
				}
			}
		}()
		kctx, err = parser.Parse(args)
	}()
	if code >= 0 {
		return code // --help or --version
	}
	if err != nil {
		fmt.Fprintf(stderr, "git-runs: %v\n", err)
		return 2
	}
	env := &env{dir: c.Dir, ctx: context.Background(), stdout: stdout, stderr: stderr, color: colorOn(stdout), noPager: c.NoPager}
	// What goes to a terminal has its control characters made visible.
	if f := terminal(stdout); f != nil {
		env.ttyOut, env.stdout = f, newTermWriter(f)
	}
	if f := terminal(stderr); f != nil {
		env.ttyErr, env.stderr = f, newTermWriter(f)
	}
	defer env.close()
	err = kctx.Run(env)
	var ec exitCode
	switch {
	case err == nil:
		return 0
	case errors.As(err, &ec):
		return int(ec)
	default:
		fmt.Fprintf(env.stderr, "git-runs: %v\n", err)
		return 1
	}
}

type exitPanic struct{}

// noCommand tells whether args name no command, only global options:
// bare "git runs" lists the commands rather than failing.
func noCommand(args []string) bool {
	for i := 0; i < len(args); i++ {
		switch a := args[i]; {
		case a == "-C" || a == "--dir":
			i++
		case strings.HasPrefix(a, "-C") || strings.HasPrefix(a, "--dir=") || a == "--no-pager":
		default:
			return false
		}
	}
	return true
}

// listCommands prints the commands of root, one a line, with where to
// read more.
func listCommands(w io.Writer, root *kong.Node) {
	var rows [][]string
	for _, c := range root.Children {
		if c.Type == kong.CommandNode && !c.Hidden {
			rows = append(rows, []string{"  " + c.Name, c.Help})
		}
	}
	fmt.Fprintln(w, "usage: git runs [-C DIR] [--no-pager] COMMAND [ARGS]")
	fmt.Fprintln(w)
	fmt.Fprintln(w, "Record machine-learning runs in your git repository. Commands:")
	fmt.Fprintln(w)
	table(w, rows)
	fmt.Fprintln(w)
	fmt.Fprintln(w, "git runs COMMAND --help tells more of each; git runs man DIR writes the manual pages.")
}
