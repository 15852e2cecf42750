package hostinfo

import (
	"bytes"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
)

// PythonFor returns the interpreter that the command argv runs, as a path
// DescribePython can run, or "" when the command does not visibly run
// Python. It looks at, in order of argv:
//
//   - an interpreter by name: python, python3, python3.11, pypy3, ...
//   - a project or environment launcher: uv run, poetry run, conda run
//     (also mamba and micromamba); it answers with the environment's
//     interpreter when it can find it on disk, else the python3 (or python)
//     on PATH
//   - torchrun, accelerate and deepspeed, which start workers with their
//     own interpreter: the one named in their shebang line, else the python
//     on PATH
//   - a script (the command itself, or an argument ending in .py) whose
//     shebang line names Python
//
// Arguments are scanned so that wrappers such as env, nohup, time or mpirun
// in front of python are seen through; a command that runs elsewhere (ssh,
// docker, ...) yields "". The answer depends on this process's PATH,
// environment and working directory, which must be those the command runs
// with. PythonFor runs nothing; it only reads a few files.
func PythonFor(argv []string) string {
	for i, arg := range argv {
		name := commandName(arg)
		if remoteLaunchers[name] {
			return ""
		}
		if i > 0 && strings.HasPrefix(arg, "-") {
			continue
		}
		rest := argv[i+1:]
		switch {
		case isPythonName(name):
			return lookPath(arg)
		case len(rest) > 0 && rest[0] == "run" && envLaunchers[name] != nil:
			return envLaunchers[name](name, rest[1:])
		case pythonLaunchers[name]:
			if p := scriptPython(lookPath(arg)); p != "" {
				return p
			}
			return pathPython()
		case i == 0:
			if p := scriptPython(lookPath(arg)); p != "" {
				return p
			}
		case strings.HasSuffix(strings.ToLower(arg), ".py"):
			// An argument names a file, not a command to look up on PATH.
			if p := scriptPython(absPath(arg)); p != "" {
				return p
			}
		}
	}
	return ""
}

// remoteLaunchers run their command on another machine or in a container,
// where the interpreters on this host say nothing about the run.
var remoteLaunchers = map[string]bool{
	"apptainer": true, "docker": true, "kubectl": true, "nerdctl": true,
	"podman": true, "sbatch": true, "singularity": true, "ssh": true,
}

// pythonLaunchers are Python programs that run the user's script with
// their own interpreter (sys.executable).
var pythonLaunchers = map[string]bool{
	"accelerate": true, "deepspeed": true, "torchrun": true,
}

// envLaunchers run a command inside a Python environment of their own; each
// is given the arguments after "run".
var envLaunchers = map[string]func(launcher string, args []string) string{
	"uv":         uvPython,
	"poetry":     poetryPython,
	"conda":      condaPython,
	"mamba":      condaPython,
	"micromamba": condaPython,
}

// commandName returns the base name of a command, without ".exe" and in
// lower case on Windows, where names are case-insensitive.
func commandName(arg string) string {
	name := filepath.Base(arg)
	if runtime.GOOS == "windows" {
		name = strings.TrimSuffix(strings.ToLower(name), ".exe")
	}
	return name
}

var pythonName = regexp.MustCompile(`^(python|pypy)([0-9]+(\.[0-9]+)*)?[dtw]?(-dbg)?$`)

// isPythonName reports whether a command's base name is that of a Python
// interpreter: python, python3, python3.11, python3.13t, pypy3, ...
func isPythonName(name string) bool {
	return pythonName.MatchString(name)
}

// lookPath resolves a command as exec would, as an absolute path because
// the caller may describe it from elsewhere; "" when there is no such
// command. Symbolic links are kept: a virtual environment's python is a
// link whose location, not target, selects the environment.
func lookPath(name string) string {
	if name == "" {
		return ""
	}
	p, err := exec.LookPath(name)
	if err != nil {
		return ""
	}
	return absPath(p)
}

// pathPython returns the interpreter a bare "python3", or failing that
// "python", names on PATH.
func pathPython() string {
	if p := lookPath("python3"); p != "" {
		return p
	}
	return lookPath("python")
}

// scriptPython returns the Python interpreter named by the shebang line of
// the file at path, resolved, or "".
func scriptPython(path string) string {
	if path == "" {
		return ""
	}
	// Only regular files: opening a FIFO that happens to end in .py would
	// block.
	if fi, err := os.Stat(path); err != nil || !fi.Mode().IsRegular() {
		return ""
	}
	f, err := os.Open(path)
	if err != nil {
		return ""
	}
	defer f.Close()
	head := make([]byte, 1024)
	n, _ := io.ReadFull(f, head)
	return lookPath(shebangPython(head[:n]))
}

// shebangPython returns the Python interpreter named by the start of a
// script: a path such as "/usr/bin/python3", or a bare name such as
// "python3" that #!/usr/bin/env looks up on PATH. It returns "" when the
// script does not start with a shebang naming Python.
func shebangPython(head []byte) string {
	if !bytes.HasPrefix(head, []byte("#!")) {
		return ""
	}
	first, rest, _ := bytes.Cut(head[2:], []byte("\n"))
	f := strings.Fields(string(first))
	if len(f) == 0 {
		return ""
	}
	switch interp := f[0]; {
	case isPythonName(commandName(interp)):
		return interp
	case filepath.Base(interp) == "env":
		// Skip env's options and VAR=value settings. With -S the kernel
		// hands the rest over as one argument, which Fields has split.
		for _, a := range f[1:] {
			if strings.HasPrefix(a, "-") || strings.Contains(a, "=") {
				continue
			}
			if isPythonName(commandName(a)) {
				return a
			}
			return ""
		}
	case filepath.Base(interp) == "sh":
		// pip and uv write this polyglot when the interpreter's path is too
		// long or has spaces for a shebang line:
		//   #!/bin/sh
		//   '''exec' "/long path/bin/python" "$0" "$@"
		//   ' '''
		line, _, _ := bytes.Cut(rest, []byte("\n"))
		s, ok := strings.CutPrefix(strings.TrimSpace(string(line)), `'''exec' `)
		if !ok {
			return ""
		}
		var p string
		if q, ok := strings.CutPrefix(s, `"`); ok {
			p, _, _ = strings.Cut(q, `"`)
		} else {
			p, _, _ = strings.Cut(s, " ")
		}
		if isPythonName(commandName(p)) {
			return p
		}
	}
	return ""
}

// launcherCommand splits the arguments a launcher got after "run" into its
// own options and the command it runs. valued lists the options that take
// a value as the next argument; the caller learns their values through
// opts. A "-m" or "--module" option means Python is run with a module.
func launcherCommand(args []string, valued map[string]bool) (opts map[string]string, cmd []string, module bool) {
	opts = map[string]string{}
	for i := 0; i < len(args); i++ {
		a := args[i]
		if a == "--" {
			return opts, args[i+1:], false
		}
		if !strings.HasPrefix(a, "-") || a == "-" {
			return opts, args[i:], false
		}
		if a == "-m" || a == "--module" || strings.HasPrefix(a, "--module=") {
			return opts, args[i:], true
		}
		if k, v, ok := strings.Cut(a, "="); ok {
			opts[k] = v
			continue
		}
		if valued[a] && i+1 < len(args) {
			opts[a] = args[i+1]
			i++
			continue
		}
		opts[a] = ""
	}
	return opts, nil, false
}

// runsPython reports whether cmd, run inside the environment whose
// interpreter is python, runs that interpreter: python itself, a .py
// script, or one of the environment's own Python programs.
func runsPython(cmd []string, python string) bool {
	if len(cmd) == 0 {
		return false
	}
	name := commandName(cmd[0])
	if isPythonName(name) || pythonLaunchers[name] || strings.HasSuffix(strings.ToLower(name), ".py") {
		return true
	}
	if python == "" || filepath.Base(cmd[0]) != cmd[0] {
		return false
	}
	// A console script installed in the environment (pytest, a project's
	// own entry point) is run with the environment's interpreter.
	return scriptPython(filepath.Join(filepath.Dir(python), cmd[0])) != ""
}

var uvValued = setOf("--with", "--with-editable", "--with-requirements",
	"--python", "-p", "--directory", "--project", "--package", "--extra",
	"--group", "--only-group", "--no-group", "--env-file", "--index",
	"--default-index", "--index-url", "-i", "--extra-index-url",
	"--find-links", "-f", "--config-file", "--cache-dir", "--color",
	"--python-preference", "--index-strategy", "--keyring-provider",
	"--resolution", "--prerelease", "--exclude-newer", "--link-mode",
	"--config-setting", "-C", "--refresh-package", "--reinstall-package",
	"--upgrade-package", "-P", "--no-binary-package", "--no-build-package",
	"--allow-insecure-host", "--no-extra", "--fork-strategy")

// uvPython finds the environment of "uv run": the project's .venv (or
// $UV_PROJECT_ENVIRONMENT) when there is a project; else, as uv looks for
// an interpreter, the active virtual or conda environment, a .venv in the
// working directory or above, the python on PATH. The project's
// interpreter is returned even before it exists, because uv run creates it
// before running the command.
func uvPython(_ string, args []string) string {
	opts, cmd, module := launcherCommand(args, uvValued)
	if _, ok := opts["--no-project"]; !ok {
		dir := opts["--project"]
		if dir == "" {
			dir = opts["--directory"]
		}
		if root := uvProjectRoot(dir); root != "" {
			venv := os.Getenv("UV_PROJECT_ENVIRONMENT")
			if venv == "" {
				venv = ".venv"
			}
			if !filepath.IsAbs(venv) {
				venv = filepath.Join(root, venv)
			}
			python := envPython(venv)
			if python == "" {
				python = filepath.Join(venv, venvBin, "python"+exeSuffix)
			}
			if module || runsPython(cmd, python) {
				return python
			}
			return ""
		}
	}
	python := firstNonEmpty(
		envPython(os.Getenv("VIRTUAL_ENV")),
		envPython(os.Getenv("CONDA_PREFIX")))
	if python == "" {
		if d := nearestWith("", ".venv"); d != "" {
			python = envPython(filepath.Join(d, ".venv"))
		}
	}
	if python == "" {
		python = pathPython()
	}
	if module || runsPython(cmd, python) {
		return python
	}
	return ""
}

// uvProjectRoot returns the directory whose .venv uv uses for a project
// found from dir (default the working directory): the nearest directory
// with a pyproject.toml, or an ancestor of it whose pyproject.toml declares
// a uv workspace. It returns "" outside any project.
func uvProjectRoot(dir string) string {
	start, err := filepath.Abs(dir)
	if err != nil {
		return ""
	}
	project := ""
	for d := start; ; {
		b, err := os.ReadFile(filepath.Join(d, "pyproject.toml"))
		if err == nil {
			if project == "" {
				project = d
			}
			if bytes.Contains(b, []byte("[tool.uv.workspace]")) {
				return d
			}
		}
		parent := filepath.Dir(d)
		if parent == d {
			return project
		}
		d = parent
	}
}

var poetryValued = setOf("-C", "--directory", "-P", "--project")

// poetryPython finds the environment of "poetry run": the active virtual
// environment, else the project's in-project .venv, else the python on
// PATH. Environments poetry keeps in its cache are not found.
func poetryPython(_ string, args []string) string {
	opts, cmd, module := launcherCommand(args, poetryValued)
	python := envPython(os.Getenv("VIRTUAL_ENV"))
	if python == "" {
		dir := firstNonEmpty(opts["-P"], opts["--project"], opts["-C"], opts["--directory"])
		if root := nearestWith(dir, "pyproject.toml"); root != "" {
			python = envPython(filepath.Join(root, ".venv"))
		}
	}
	if python == "" {
		python = pathPython()
	}
	if module || runsPython(cmd, python) {
		return python
	}
	return ""
}

var condaValued = setOf("-n", "--name", "-p", "--prefix", "--cwd",
	"-r", "--root-prefix", "-a", "--attach", "--env", "--label")

// condaPython finds the environment of "conda run" (or mamba, micromamba):
// the one named by -p or -n, else the active one, else the base one. An
// environment named but not found yields "": guessing another would
// misdescribe the run.
func condaPython(launcher string, args []string) string {
	opts, cmd, module := launcherCommand(args, condaValued)
	roots := condaRoots(launcher, firstNonEmpty(opts["-r"], opts["--root-prefix"]))
	var python string
	switch prefix, name := firstNonEmpty(opts["-p"], opts["--prefix"]), firstNonEmpty(opts["-n"], opts["--name"]); {
	case prefix != "":
		python = envPython(prefix)
	case name == "base":
		for _, r := range roots {
			if python = envPython(r); python != "" {
				break
			}
		}
	case name != "":
		for _, d := range condaEnvDirs(roots) {
			if python = envPython(filepath.Join(d, name)); python != "" {
				break
			}
		}
	default:
		python = envPython(os.Getenv("CONDA_PREFIX"))
		for _, r := range roots {
			if python != "" {
				break
			}
			python = envPython(r)
		}
	}
	if python != "" && (module || runsPython(cmd, python)) {
		return python
	}
	return ""
}

// condaRoots returns the candidate base (root) prefixes of a conda-like
// launcher, most likely first.
func condaRoots(launcher, flag string) []string {
	var roots []string
	add := func(dir string) {
		if dir != "" {
			roots = append(roots, dir)
		}
	}
	add(flag)
	if launcher != "conda" {
		add(os.Getenv("MAMBA_ROOT_PREFIX"))
	}
	if exe := os.Getenv("CONDA_EXE"); exe != "" {
		add(filepath.Dir(filepath.Dir(exe))) // <root>/bin/conda
	}
	if p := lookPath(launcher); p != "" {
		// <root>/bin/conda or <root>/condabin/conda; a micromamba binary
		// in ~/.local/bin is not in a root, which conda-meta tells.
		root := filepath.Dir(filepath.Dir(p))
		if isDir(filepath.Join(root, "conda-meta")) {
			add(root)
		}
	}
	if home, err := os.UserHomeDir(); err == nil && launcher != "conda" {
		add(filepath.Join(home, "micromamba"))
	}
	return roots
}

// condaEnvDirs returns the directories that may hold named environments.
func condaEnvDirs(roots []string) []string {
	var dirs []string
	for _, v := range []string{"CONDA_ENVS_PATH", "CONDA_ENVS_DIRS"} {
		for _, d := range filepath.SplitList(os.Getenv(v)) {
			if d != "" {
				dirs = append(dirs, d)
			}
		}
	}
	for _, r := range roots {
		dirs = append(dirs, filepath.Join(r, "envs"))
	}
	if home, err := os.UserHomeDir(); err == nil {
		dirs = append(dirs, filepath.Join(home, ".conda", "envs"))
	}
	return dirs
}

// venvBin and exeSuffix describe where environments keep their python.
var venvBin, exeSuffix = func() (string, string) {
	if runtime.GOOS == "windows" {
		return "Scripts", ".exe"
	}
	return "bin", ""
}()

// envPython returns the interpreter of the virtual or conda environment at
// prefix, or "" when there is none.
func envPython(prefix string) string {
	if prefix == "" {
		return ""
	}
	for _, p := range []string{
		filepath.Join(prefix, venvBin, "python3"+exeSuffix),
		filepath.Join(prefix, venvBin, "python"+exeSuffix),
		filepath.Join(prefix, "python"+exeSuffix), // conda on Windows
	} {
		if p := lookPath(p); p != "" {
			return p
		}
	}
	return ""
}

// nearestWith returns dir (default the working directory) or its nearest
// ancestor that holds a file called name, or "".
func nearestWith(dir, name string) string {
	d, err := filepath.Abs(dir)
	if err != nil {
		return ""
	}
	for {
		if _, err := os.Stat(filepath.Join(d, name)); err == nil {
			return d
		}
		parent := filepath.Dir(d)
		if parent == d {
			return ""
		}
		d = parent
	}
}

// absPath returns path made absolute, or path itself when that fails.
func absPath(path string) string {
	if abs, err := filepath.Abs(path); err == nil {
		return abs
	}
	return path
}

func isDir(path string) bool {
	fi, err := os.Stat(path)
	return err == nil && fi.IsDir()
}

func firstNonEmpty(s ...string) string {
	for _, v := range s {
		if v != "" {
			return v
		}
	}
	return ""
}

func setOf(s ...string) map[string]bool {
	m := make(map[string]bool, len(s))
	for _, v := range s {
		m[v] = true
	}
	return m
}
