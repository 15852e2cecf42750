package hostinfo

import (
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

func TestIsPythonName(t *testing.T) {
	for name, want := range map[string]bool{
		"python": true, "python3": true, "python3.11": true, "python3.13t": true,
		"python3.12d": true, "python3-dbg": true, "pypy3": true, "pypy3.10": true,
		"pythonw": true,
		"pytest":  false, "python-config": false, "python3.11-config": false,
		"ipython": false, "train.py": false, "py": false, "pythonista": false,
	} {
		if got := isPythonName(name); got != want {
			t.Errorf("isPythonName(%q) = %v, want %v", name, got, want)
		}
	}
}

func TestShebangPython(t *testing.T) {
	tests := []struct{ name, in, want string }{
		{"env", "#!/usr/bin/env python3\nimport sys\n", "python3"},
		{"direct", "#!/usr/bin/python3\n", "/usr/bin/python3"},
		{"direct with flag", "#!/usr/bin/python3 -u\n", "/usr/bin/python3"},
		{"space after #!", "#! /usr/bin/env python\n", "python"},
		{"CRLF", "#!/usr/bin/env python3\r\nimport sys\r\n", "python3"},
		{"env -S with settings", "#!/usr/bin/env -S PYTHONUNBUFFERED=1 python3 -u\n", "python3"},
		{"venv console script", "#!/home/me/proj/.venv/bin/python\n# -*- coding: utf-8 -*-\nimport re\n", "/home/me/proj/.venv/bin/python"},
		{"conda", "#!/opt/conda/bin/python3.11\n", "/opt/conda/bin/python3.11"},
		{"pypy", "#!/usr/bin/env pypy3\n", "pypy3"},
		{"pip long path", "#!/bin/sh\n'''exec' \"/very long/path/.venv/bin/python3\" \"$0\" \"$@\"\n' '''\n# -*- coding: utf-8 -*-\n", "/very long/path/.venv/bin/python3"},
		{"pip long path unquoted", "#!/bin/sh\n'''exec' /very/long/path/.venv/bin/python \"$0\" \"$@\"\n' '''\n", "/very/long/path/.venv/bin/python"},
		{"shell", "#!/bin/bash\nset -e\npython train.py\n", ""},
		{"sh without polyglot", "#!/bin/sh\nexec python \"$@\"\n", ""},
		{"uv script", "#!/usr/bin/env -S uv run --script\n", ""},
		{"no shebang", "import torch\n", ""},
		{"empty shebang", "#!\n", ""},
		{"ELF", "\x7fELF\x02\x01\x01", ""},
		{"empty", "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := shebangPython([]byte(tt.in)); got != tt.want {
				t.Errorf("shebangPython = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestPythonFor(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("Unix layouts")
	}
	root := t.TempDir()
	p := func(rel string) string { return filepath.Join(root, rel) }
	exe := func(rel, content string) { writeFile(t, p(rel), content, 0o755) }
	file := func(rel, content string) { writeFile(t, p(rel), content, 0o644) }

	// Interpreters on PATH, and launchers.
	for _, name := range []string{"python3", "python", "python3.11", "pypy3", "mpirun", "uv", "poetry"} {
		exe("bin/"+name, "#!/bin/sh\n")
	}
	exe("bin/torchrun", "#!"+p("venv/bin/python3")+"\nimport re\n")
	exe("bin/accelerate", "\x7fELF not a script")
	exe("bin/deepspeed", "#!/bin/sh\n'''exec' \""+p("long path/venv/bin/python")+"\" \"$0\" \"$@\"\n' '''\n")
	exe("long path/venv/bin/python", "#!/bin/sh\n")
	exe("venv/bin/python3", "#!/bin/sh\n")
	exe("venv/bin/python", "#!/bin/sh\n")

	// Scripts.
	exe("work/train.py", "#!/usr/bin/env python3\nimport torch\n")
	exe("work/venv-train.py", "#!"+p("venv/bin/python3")+"\n")
	file("work/plain.py", "#!/usr/bin/env python\nimport torch\n")
	file("work/noshebang.py", "import torch\n")
	exe("work/run.sh", "#!/bin/sh\npython3 train.py\n")
	exe("work/missing-interp.py", "#!"+p("nowhere/python3")+"\n")

	// A uv project with its environment, run from a subdirectory.
	file("proj/pyproject.toml", "[project]\nname = \"proj\"\n")
	exe("proj/.venv/bin/python3", "#!/bin/sh\n")
	exe("proj/.venv/bin/pytest", "#!"+p("proj/.venv/bin/python3")+"\n")
	exe("proj/.venv/bin/ruff", "\x7fELF")
	exe("proj/src/pkg/train.py", "")
	// A uv project never synced yet.
	file("fresh/pyproject.toml", "[project]\nname = \"fresh\"\n")
	// A uv workspace: members share the root's environment.
	file("ws/pyproject.toml", "[project]\nname = \"ws\"\n\n[tool.uv.workspace]\nmembers = [\"packages/*\"]\n")
	file("ws/packages/a/pyproject.toml", "[project]\nname = \"a\"\n")
	exe("ws/.venv/bin/python3", "#!/bin/sh\n")
	// No project at all.
	if err := os.MkdirAll(p("noproj"), 0o755); err != nil {
		t.Fatal(err)
	}

	// Conda: base at conda/, a named environment, one given by prefix.
	exe("conda/bin/conda", "#!"+p("conda/bin/python")+"\n")
	exe("conda/bin/python", "#!/bin/sh\n")
	exe("conda/envs/ml/bin/python", "#!/bin/sh\n")
	exe("conda/envs/ml/bin/torchrun", "#!"+p("conda/envs/ml/bin/python")+"\n")
	exe("elsewhere/env/bin/python3", "#!/bin/sh\n")
	if err := os.MkdirAll(p("conda/conda-meta"), 0o755); err != nil {
		t.Fatal(err)
	}

	bin := p("bin")
	tests := []struct {
		name string
		argv []string
		dir  string            // working directory under root; "work" if empty
		env  map[string]string // on top of a clean environment
		want string            // under root unless absolute or empty
	}{
		{name: "python3", argv: []string{"python3", "train.py"}, want: "bin/python3"},
		{name: "versioned", argv: []string{"python3.11", "-u", "train.py"}, want: "bin/python3.11"},
		{name: "pypy", argv: []string{"pypy3", "-m", "bench"}, want: "bin/pypy3"},
		{name: "by path", argv: []string{p("venv/bin/python"), "train.py"}, want: "venv/bin/python"},
		{name: "not installed", argv: []string{"python3.99", "train.py"}, want: ""},
		{name: "nothing", argv: nil, want: ""},
		{name: "not python", argv: []string{"make", "train"}, want: ""},

		{name: "env shebang", argv: []string{"./train.py", "--lr", "3e-4"}, want: "bin/python3"},
		{name: "absolute shebang", argv: []string{"./venv-train.py"}, want: "venv/bin/python3"},
		{name: "shebang names a missing interpreter", argv: []string{"./missing-interp.py"}, want: ""},
		{name: "shell script", argv: []string{"./run.sh"}, want: ""},
		{name: "script argument", argv: []string{"nohup", "plain.py"}, want: "bin/python"},
		{name: "script argument without shebang", argv: []string{"nohup", "noshebang.py"}, want: ""},

		{name: "env wrapper", argv: []string{"env", "CUDA_VISIBLE_DEVICES=0,1", "python3", "train.py"}, want: "bin/python3"},
		{name: "mpirun", argv: []string{"mpirun", "-np", "4", "python", "train.py"}, want: "bin/python"},
		{name: "ssh", argv: []string{"ssh", "gpu1", "python3", "train.py"}, want: ""},
		{name: "docker", argv: []string{"docker", "run", "--gpus", "all", "img", "python", "train.py"}, want: ""},

		{name: "torchrun", argv: []string{"torchrun", "--nproc_per_node=8", "train.py"}, want: "venv/bin/python3"},
		{name: "accelerate without shebang", argv: []string{"accelerate", "launch", "train.py"}, want: "bin/python3"},
		{name: "deepspeed long shebang", argv: []string{"deepspeed", "--num_gpus=8", "train.py"}, want: "long path/venv/bin/python"},

		{name: "uv run python", argv: []string{"uv", "run", "python", "train.py"}, dir: "proj/src/pkg", want: "proj/.venv/bin/python3"},
		{name: "uv run with options", argv: []string{"uv", "run", "--with", "numpy", "--frozen", "train.py"}, dir: "proj", want: "proj/.venv/bin/python3"},
		{name: "uv run module", argv: []string{"uv", "run", "-m", "torch.distributed.run", "train.py"}, dir: "proj", want: "proj/.venv/bin/python3"},
		{name: "uv run console script", argv: []string{"uv", "run", "pytest", "-x"}, dir: "proj", want: "proj/.venv/bin/python3"},
		{name: "uv run binary", argv: []string{"uv", "run", "ruff", "check"}, dir: "proj", want: ""},
		{name: "uv run shell", argv: []string{"uv", "run", "bash", "train.sh"}, dir: "proj", want: ""},
		{name: "uv run --directory", argv: []string{"uv", "run", "--directory", p("proj"), "python", "x.py"}, want: "proj/.venv/bin/python3"},
		{name: "uv project not synced yet", argv: []string{"uv", "run", "train.py"}, dir: "fresh", want: "fresh/.venv/bin/python"},
		{name: "uv workspace member", argv: []string{"uv", "run", "python"}, dir: "ws/packages/a", want: "ws/.venv/bin/python3"},
		{name: "uv project environment", argv: []string{"uv", "run", "python"}, dir: "proj",
			env: map[string]string{"UV_PROJECT_ENVIRONMENT": p("elsewhere/env")}, want: "elsewhere/env/bin/python3"},
		{name: "uv ignores VIRTUAL_ENV in a project", argv: []string{"uv", "run", "python"}, dir: "proj",
			env: map[string]string{"VIRTUAL_ENV": p("venv")}, want: "proj/.venv/bin/python3"},
		{name: "uv outside a project", argv: []string{"uv", "run", "python"}, dir: "noproj", want: "bin/python3"},
		{name: "uv outside a project, venv active", argv: []string{"uv", "run", "python"}, dir: "noproj",
			env: map[string]string{"VIRTUAL_ENV": p("venv")}, want: "venv/bin/python3"},
		{name: "uv other subcommand", argv: []string{"uv", "pip", "list"}, dir: "proj", want: ""},
		{name: "wrapped uv", argv: []string{"nohup", "uv", "run", "python", "train.py"}, dir: "proj", want: "proj/.venv/bin/python3"},

		{name: "poetry in-project venv", argv: []string{"poetry", "run", "python", "train.py"}, dir: "proj/src", want: "proj/.venv/bin/python3"},
		{name: "poetry active venv", argv: []string{"poetry", "run", "python", "train.py"}, dir: "proj",
			env: map[string]string{"VIRTUAL_ENV": p("venv")}, want: "venv/bin/python3"},
		{name: "poetry fallback", argv: []string{"poetry", "run", "python", "train.py"}, dir: "noproj", want: "bin/python3"},

		{name: "conda by name", argv: []string{"conda", "run", "-n", "ml", "python", "train.py"},
			env: map[string]string{"CONDA_EXE": p("conda/bin/conda")}, want: "conda/envs/ml/bin/python"},
		{name: "conda by name, root from PATH", argv: []string{"conda", "run", "--no-capture-output", "--name=ml", "python", "train.py"},
			env: map[string]string{"PATH": p("conda/bin") + string(os.PathListSeparator) + bin}, want: "conda/envs/ml/bin/python"},
		{name: "conda env's torchrun", argv: []string{"conda", "run", "-n", "ml", "torchrun", "train.py"},
			env: map[string]string{"CONDA_EXE": p("conda/bin/conda")}, want: "conda/envs/ml/bin/python"},
		{name: "conda by prefix", argv: []string{"conda", "run", "-p", p("elsewhere/env"), "python"}, want: "elsewhere/env/bin/python3"},
		{name: "conda base", argv: []string{"conda", "run", "-n", "base", "python"},
			env: map[string]string{"CONDA_EXE": p("conda/bin/conda")}, want: "conda/bin/python"},
		{name: "conda active env", argv: []string{"conda", "run", "python"},
			env: map[string]string{"CONDA_EXE": p("conda/bin/conda"), "CONDA_PREFIX": p("conda/envs/ml")}, want: "conda/envs/ml/bin/python"},
		{name: "conda unknown env", argv: []string{"conda", "run", "-n", "nope", "python"},
			env: map[string]string{"CONDA_EXE": p("conda/bin/conda")}, want: ""},
		{name: "conda not python", argv: []string{"conda", "run", "-n", "ml", "nvcc", "--version"},
			env: map[string]string{"CONDA_EXE": p("conda/bin/conda")}, want: ""},
		{name: "micromamba", argv: []string{"micromamba", "run", "-n", "ml", "python"},
			env: map[string]string{"MAMBA_ROOT_PREFIX": p("conda")}, want: "conda/envs/ml/bin/python"},
	}
	clean := []string{"VIRTUAL_ENV", "CONDA_PREFIX", "CONDA_EXE", "CONDA_ENVS_PATH", "CONDA_ENVS_DIRS",
		"MAMBA_ROOT_PREFIX", "UV_PROJECT_ENVIRONMENT"}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, k := range clean {
				t.Setenv(k, "")
			}
			t.Setenv("HOME", p("home"))
			t.Setenv("PATH", bin)
			for k, v := range tt.env {
				t.Setenv(k, v)
			}
			dir := tt.dir
			if dir == "" {
				dir = "work"
			}
			t.Chdir(p(dir))
			want := tt.want
			if want != "" && !filepath.IsAbs(want) {
				want = p(want)
			}
			if got := PythonFor(tt.argv); got != want {
				t.Errorf("PythonFor(%q) = %q, want %q", tt.argv, strings.TrimPrefix(got, root+"/"), strings.TrimPrefix(want, root+"/"))
			}
		})
	}
}

func TestPythonForThisMachine(t *testing.T) {
	// With the real PATH, "python3" must resolve to something that
	// DescribePython can run, whatever it is (a pyenv shim, a venv link).
	want := lookPath("python3")
	if want == "" {
		t.Skip("no python3 on PATH")
	}
	if got := PythonFor([]string{"python3", "-c", "pass"}); got != want {
		t.Errorf("PythonFor = %q, want %q", got, want)
	}
	if !filepath.IsAbs(want) {
		t.Errorf("%q is not absolute", want)
	}
}
