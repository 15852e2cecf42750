package hostinfo

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
)

// Python describes an interpreter and, when asked, what is installed in it.
type Python struct {
	Executable string   // absolute path of the interpreter
	Version    string   // "3.11.7"
	Packages   []string // "name==version", sorted case-insensitively; only when asked
}

// describeScript is run with python -c. It uses the standard library only
// and keeps to syntax every Python 3 accepts, so that an old interpreter
// still reports its executable and version.
//
// Its output is one record a line, after a marker line: sitecustomize and
// .pth hooks run before it and may print anything, and whatever they print
// comes before the marker. Text goes out as UTF-8 bytes, surrogate-escaped,
// so that an odd locale cannot make print fail on an unusual path.
//
// It drops the current directory from sys.path (python -c puts it first)
// so that a module of the user's named like a standard one, say
// platform.py, cannot shadow it; and it keeps the first distribution of a
// name, because distributions() follows sys.path order, the order import
// uses.
const describeScript = `import sys
if sys.path and sys.path[0] == "":
    del sys.path[0]
import platform
out = ["gitruns-hostinfo", "executable " + (sys.executable or ""), "version " + platform.python_version()]
if sys.argv[1:] == ["packages"]:
    try:
        from importlib import metadata
    except ImportError:
        try:
            import importlib_metadata as metadata
        except ImportError:
            metadata = None
    if metadata is not None:
        import re
        out.append("packages")
        seen = set()
        for d in metadata.distributions():
            try:
                name, version = d.metadata["Name"], d.version
            except Exception:
                continue
            if not name or not version:
                continue
            key = re.sub(r"[-_.]+", "-", name).lower()
            if key not in seen:
                seen.add(key)
                out.append("package " + name.strip() + "==" + version.strip())
out.append("end")
data = ("\n".join(out) + "\n").encode("utf-8", "surrogateescape")
getattr(sys.stdout, "buffer", sys.stdout).write(data)
sys.stdout.flush()
`

// DescribePython runs interpreter once to learn its executable and version
// and, when packages is true, every installed distribution. The interpreter
// inherits this process's environment, because PYTHONPATH and an active
// virtual environment decide what the run imports; only byte-code writing
// is turned off, so that describing an environment does not change it.
//
// It returns an error when the interpreter is missing, fails, is killed
// when ctx is done, or prints something it cannot parse. Packages is nil
// when packages is false or the interpreter cannot list them (Python
// older than 3.8 without importlib_metadata).
func DescribePython(ctx context.Context, interpreter string, packages bool) (*Python, error) {
	if interpreter == "" {
		return nil, errors.New("describe python: no interpreter given")
	}
	args := []string{"-c", describeScript}
	if packages {
		args = append(args, "packages")
	}
	cmd := exec.CommandContext(ctx, interpreter, args...)
	cmd.Env = append(os.Environ(), "PYTHONDONTWRITEBYTECODE=1")
	cmd.WaitDelay = waitDelay
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		if ctx.Err() != nil {
			err = ctx.Err()
		}
		if msg := lastLine(stderr.Bytes()); msg != "" {
			return nil, fmt.Errorf("describe python %s: %w: %s", interpreter, err, msg)
		}
		return nil, fmt.Errorf("describe python %s: %w", interpreter, err)
	}
	py, err := parseDescribe(out)
	if err != nil {
		return nil, fmt.Errorf("describe python %s: %w", interpreter, err)
	}
	if py.Executable == "" {
		// sys.executable is empty in embedded interpreters; the path we
		// ran is the next best thing.
		py.Executable = cmd.Path
	}
	if !filepath.IsAbs(py.Executable) {
		if abs, err := filepath.Abs(py.Executable); err == nil {
			py.Executable = abs
		}
	}
	return py, nil
}

// parseDescribe parses the output of describeScript.
func parseDescribe(out []byte) (*Python, error) {
	const marker = "gitruns-hostinfo\n"
	i := bytes.LastIndex(out, []byte(marker))
	if i < 0 || (i > 0 && out[i-1] != '\n') {
		return nil, errors.New("parse output: no gitruns-hostinfo marker")
	}
	py := &Python{}
	var version, end bool
	sc := bufio.NewScanner(bytes.NewReader(out[i+len(marker):]))
	sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
	for sc.Scan() {
		key, val, _ := strings.Cut(sc.Text(), " ")
		val = strings.ToValidUTF8(val, "\uFFFD")
		switch key {
		case "executable":
			py.Executable = val
		case "version":
			py.Version, version = val, true
		case "packages":
			py.Packages = []string{}
		case "package":
			py.Packages = append(py.Packages, val)
		case "end":
			end = true
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("parse output: %w", err)
	}
	if !version || !end || py.Version == "" {
		return nil, errors.New("parse output: truncated")
	}
	py.Packages = sortPackages(py.Packages)
	return py, nil
}

// sortPackages sorts "name==version" entries by name, ignoring case, and
// drops exact repeats. Names are compared on their own so that "jsonschema"
// comes before "jsonschema-path" although '-' sorts before '='.
func sortPackages(p []string) []string {
	slices.SortFunc(p, func(a, b string) int {
		an, _, _ := strings.Cut(a, "==")
		bn, _, _ := strings.Cut(b, "==")
		if c := strings.Compare(strings.ToLower(an), strings.ToLower(bn)); c != 0 {
			return c
		}
		return strings.Compare(a, b)
	})
	return slices.Compact(p)
}

// lastLine returns the last non-blank line of b, which for a Python that
// died is the exception it died of.
func lastLine(b []byte) string {
	b = bytes.TrimSpace(b)
	if i := bytes.LastIndexByte(b, '\n'); i >= 0 {
		b = bytes.TrimSpace(b[i+1:])
	}
	const max = 300
	if len(b) > max {
		b = append(b[:max:max], "..."...)
	}
	return strings.ToValidUTF8(string(b), "\uFFFD")
}
