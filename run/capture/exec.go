package capture

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/gitruns/gitruns/run"
	"github.com/gitruns/gitruns/run/hostinfo"
	"github.com/gitruns/gitruns/run/launch"
	"github.com/gitruns/gitruns/run/live"
	"github.com/gitruns/gitruns/run/outlog"
	"github.com/gitruns/gitruns/run/secret"
	"github.com/gitruns/gitruns/run/sysmon"
)

// hostFactsWait bounds how long the end of a run waits for facts about
// the host still being gathered (nvidia-smi, the Python packages).
const hostFactsWait = 3 * time.Second

// ExecOptions describe a command to run and record.
type ExecOptions struct {
	live.Options
	Args []string // the command
	Dir  string   // its working directory; "" for the current one

	NoOutput        bool   // do not keep the output with the run
	OutputLimit     int64  // bytes of output kept; 0 for outlog.DefaultLimit
	NoOutputMetrics bool   // do not parse metrics from the output
	MetricsPattern  string // replaces the default metric rules; see NewParser
	NoArgvParams    bool   // do not take params from the command line
	EnvNames        []string
	PythonPackages  bool          // record the installed packages of the command's Python
	NoSystemMetrics bool          // do not sample the command's and the machine's use (system/ metrics)
	SystemInterval  time.Duration // how often they are sampled; 0 for sysmon.DefaultInterval

	Stdin, Stdout, Stderr *os.File // default: the process's own
}

// ExecResult tells how a recorded command ended.
type ExecResult struct {
	ID       string
	Status   run.Status
	ExitCode int            // as a shell would report it: 128+N for signal N
	Signal   syscall.Signal // the signal that killed the command, if any
	// FromTerminal tells that Signal came from the terminal (Ctrl-C,
	// Ctrl-\) to the command alone, run as a job of its own: to the
	// processes around it, it is news.
	FromTerminal bool
}

// Exec runs a command and records it as a run of store: its source,
// command (with secrets redacted), params from its command line, the
// environment worth recording, host facts, output, metrics printed in the
// output, system metrics sampled while it runs, and how it ended. The
// command sees GITRUNS_RUN set to the run's id. A command that cannot be started is recorded as failed with exit
// code 127 and reported as an error. The run ends as the command did:
// finished when it exited 0, failed when it exited otherwise, killed when
// somebody stopped it with a signal (see stopped), whatever signals it
// handled on the way. An error
// with a result that has an ID means the command ran but its end could
// not be committed: the run's journal is kept, and the next git-runs
// command commits it.
func Exec(ctx context.Context, rc live.Recorder, o ExecOptions) (ExecResult, error) {
	if len(o.Args) == 0 {
		return ExecResult{}, errors.New("exec: no command given (git runs exec -- COMMAND [ARGS...])")
	}
	if o.SystemInterval != 0 && !o.NoSystemMetrics {
		if err := sysmon.CheckInterval(o.SystemInterval); err != nil {
			return ExecResult{}, fmt.Errorf("system metrics interval: %w", err)
		}
	}
	var parser *Parser
	if !o.NoOutputMetrics {
		var err error
		if parser, err = NewParser(o.MetricsPattern); err != nil {
			return ExecResult{}, err
		}
	}
	environ := os.Environ()
	red := secret.NewRedactor(environ)
	// A secret given on the command line is redacted wherever it appears
	// too, such as when the program echoes its arguments.
	red.Add(ArgSecrets(o.Args)...)

	opts := o.Options
	opts.Command = RedactArgs(o.Args, red)
	if !o.NoArgvParams {
		opts.DefaultParams = ArgParams(o.Args, red)
	}
	opts.Env = SelectEnv(environ, o.EnvNames)
	opts.Output = !o.NoOutput
	opts.OutputLimit = o.OutputLimit
	if opts.OutputLimit <= 0 {
		opts.OutputLimit = outlog.DefaultLimit
	}
	interpreter := hostinfo.PythonFor(o.Args)

	r, err := rc.Start(ctx, opts)
	if err != nil {
		return ExecResult{}, err
	}
	res := ExecResult{ID: r.ID()}

	facts := gatherHostFacts(r, interpreter, o.PythonPackages)

	var sinks, errSinks []func([]byte) // errSinks: standard error read apart
	var log *outlog.Log
	if opts.Output {
		if log, err = outlog.Create(r.OutputPrefix(), opts.OutputLimit, red); err != nil {
			r.Finish(run.Failed, nil, "")
			return res, err
		}
		if p, ok := rc.Store.(live.Preparer); ok {
			// The head of the output is final once full: the store may
			// compress it while the command still runs.
			log.WhenHeadFull(func() {
				go func() {
					if head, err := os.ReadFile(r.OutputPrefix() + ".head"); err == nil {
						p.Prepare(head)
					}
				}()
			})
		}
		sinks = append(sinks, func(b []byte) { log.Write(b) })
		// Standard error read apart has lines of its own, in the log
		// and for metrics: a line printed on one stream while the other
		// draws a progress bar is stored and read whole.
		errLog := log.NewWriter()
		errSinks = append(errSinks, func(b []byte) { errLog.Write(b) })
	}
	var lines, errLines *lineSplitter
	if parser != nil {
		lines, errLines = newLineSplitter(parser, logTo(r)), newLineSplitter(parser, logTo(r))
		sinks, errSinks = append(sinks, lines.write), append(errSinks, errLines.write)
	}

	env := append(environ, "GITRUNS_RUN="+r.ID())
	system := newSystemSampler(r, o)
	lres, err := launch.Run(launch.Options{
		Args: o.Args, Dir: o.Dir, Env: env,
		Stdin: o.Stdin, Stdout: o.Stdout, Stderr: o.Stderr,
		Capture: sinkWriter(sinks), CaptureErr: sinkWriter(errSinks), Started: system.started,
	})
	system.stop()
	if lines != nil {
		lines.flush()
		errLines.flush()
	}
	if log != nil {
		log.Close()
	}
	facts.wait(hostFactsWait)
	if err != nil {
		code := 127
		if !errors.Is(err, exec.ErrNotFound) && !errors.Is(err, os.ErrNotExist) {
			code = 126
		}
		res.Status, res.ExitCode = run.Failed, code
		if ferr := r.Finish(run.Failed, &code, ""); ferr != nil {
			return res, errors.Join(err, ferr)
		}
		return res, fmt.Errorf("exec %s: %w", o.Args[0], err)
	}

	res.ExitCode, res.Signal = lres.ExitCode, lres.Signal
	res.FromTerminal = lres.Job && (lres.Signal == syscall.SIGINT || lres.Signal == syscall.SIGQUIT) && lres.Received == nil
	switch {
	case stopped(lres):
		res.Status = run.Killed
	case lres.ExitCode == 0:
		res.Status = run.Finished
	default:
		res.Status = run.Failed
	}
	signal := ""
	if lres.Signal != 0 {
		signal = unix.SignalName(lres.Signal)
	}
	code := lres.ExitCode
	return res, r.Finish(res.Status, &code, signal)
}

// stopped reports whether somebody stopped the command: it died of a
// signal that git-runs passed on, or of one that people send to stop a
// program (Ctrl-C, Ctrl-\, kill, a closed terminal). A command that
// handled the signal and exited ended as it exited; one that died of
// SIGKILL from elsewhere (the kernel's out-of-memory killer) or of its
// own fault (SIGSEGV, SIGABRT) failed.
func stopped(res launch.Result) bool {
	switch res.Signal {
	case 0:
		return false
	case syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP, syscall.SIGQUIT:
		return true
	}
	return res.Received != nil && res.Received == os.Signal(res.Signal)
}

// sinkWriter returns a writer that hands what it gets to each of sinks;
// nil when there are none, so that nothing is copied at all.
func sinkWriter(sinks []func([]byte)) io.Writer {
	if len(sinks) == 0 {
		return nil
	}
	return captureFunc(func(b []byte) {
		for _, s := range sinks {
			s(b)
		}
	})
}

type captureFunc func([]byte)

func (f captureFunc) Write(b []byte) (int, error) { f(b); return len(b), nil }

// lineSplitter cuts output into lines at \n and \r (progress bars redraw
// with \r) and passes on the metrics each line holds.
type lineSplitter struct {
	p       *Stream
	emit    func(Point, time.Time)
	now     time.Time // when the output being parsed was read
	partial []byte
	long    bool // the line in progress is too long to be a metric line
	points  []Point
	// secretKeys remembers which keys name secrets (secret.IsSecretKey):
	// a printed "password: 987654" is not a metric, and a metric's value
	// reaches the commit's subject. Keys repeat, so each is judged once.
	secretKeys map[string]bool
}

func newLineSplitter(p *Parser, emit func(Point, time.Time)) *lineSplitter {
	return &lineSplitter{p: p.Stream(), emit: emit, secretKeys: map[string]bool{}}
}

// logTo returns the function that logs points into r.
func logTo(r *live.Run) func(Point, time.Time) {
	return func(pt Point, t time.Time) {
		step := live.NextStep
		if pt.HasStep {
			step = pt.Step
		}
		r.LogOutputMetricAt(pt.Key, pt.Value, step, t) // an invalid key is dropped
	}
}

func (l *lineSplitter) write(b []byte) {
	// One clock reading for all the lines read at once: timestamps are
	// in milliseconds, and a read takes far less.
	l.now = time.Now()
	if len(l.partial) > 0 || l.long {
		i := outlog.IndexLineEnd(b)
		if i < 0 {
			l.keep(b)
			return
		}
		if !l.long && len(l.partial)+i <= maxLineLen {
			l.line(append(l.partial, b[:i]...))
		}
		l.partial, l.long = l.partial[:0], false
		b = b[i+1:]
	}
	end := lastLineEnd(b) + 1
	l.lines(b[:end])
	l.keep(b[end:])
}

// keep holds b, the start of a line whose end is still to come.
func (l *lineSplitter) keep(b []byte) {
	if l.long || len(l.partial)+len(b) > maxLineLen {
		l.partial, l.long = l.partial[:0], true
		return
	}
	l.partial = append(l.partial, b...)
}

// lines parses b, whole lines. Most lines a training script prints are
// prose or progress that holds none of '=', ':', '|' and ESC; unless a
// table is open, such a line matters only for its first word and its
// end (Stream.passes). So these bytes and the line ends are looked for
// across b at once, and the other lines are passed over after a glance
// at either end. Output of a million lines a second passes through here.
func (l *lineSplitter) lines(b []byte) {
	seps := [...]byte{'\n', '\r', '=', ':', '|', 0x1b}
	var next [len(seps)]int // the next position of each at or after pos, len(b) for none
	for k := range next {
		next[k] = -1
	}
	for pos := 0; pos < len(b); {
		for k, c := range seps {
			if next[k] < pos {
				next[k] = len(b)
				if j := bytes.IndexByte(b[pos:], c); j >= 0 {
					next[k] = pos + j
				}
			}
		}
		end := min(next[0], next[1])
		line := b[pos:end]
		if min(next[2], next[3], next[4], next[5]) < end || !l.p.passes(line) {
			l.line(line)
		}
		pos = end + 1
	}
}

func (l *lineSplitter) flush() {
	l.now = time.Now()
	if len(l.partial) > 0 && !l.long {
		l.line(l.partial)
	}
	l.partial, l.long = l.partial[:0], false
}

func (l *lineSplitter) line(b []byte) {
	l.points = l.p.Parse(b, l.points[:0])
	for _, pt := range l.points {
		secret, ok := l.secretKeys[pt.Key]
		if !ok {
			secret = isSecretKey(pt.Key)
			l.secretKeys[pt.Key] = secret
		}
		if !secret {
			l.emit(pt, l.now)
		}
	}
}

// isSecretKey reports whether a metric key read from output names a
// secret, by the last part of its path ("train/api_key").
func isSecretKey(key string) bool {
	if i := strings.LastIndexByte(key, '/'); i >= 0 {
		key = key[i+1:]
	}
	return secret.IsSecretKey(key)
}

// lastLineEnd finds the last \n or \r in b, or returns -1.
func lastLineEnd(b []byte) int {
	for i := len(b) - 1; i >= 0; i-- {
		if b[i] == '\n' || b[i] == '\r' {
			return i
		}
	}
	return -1
}

// hostFacts gathers facts about the host in the background, so that a
// slow nvidia-smi or Python never delays the command.
type hostFacts struct {
	done   chan struct{}
	cancel context.CancelFunc
}

func gatherHostFacts(r *live.Run, interpreter string, packages bool) *hostFacts {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	f := &hostFacts{done: make(chan struct{}), cancel: cancel}
	go func() {
		defer close(f.done)
		info := hostinfo.Collect(ctx)
		h := run.Host{CPU: info.CPU, CPUs: info.CPUs, MemoryMiB: info.MemoryMiB}
		for _, g := range info.GPUs {
			h.GPUs = append(h.GPUs, run.GPU{Name: g.Name, MemoryMiB: g.MemoryMiB, Driver: g.Driver})
		}
		if interpreter != "" {
			if py, err := hostinfo.DescribePython(ctx, interpreter, packages); err == nil {
				h.Python, h.PythonExecutable, h.PythonPackages = py.Version, py.Executable, py.Packages
			}
		}
		r.SetHost(h)
	}()
	return f
}

func (f *hostFacts) wait(d time.Duration) {
	select {
	case <-f.done:
	case <-time.After(d):
	}
	f.cancel()
}
