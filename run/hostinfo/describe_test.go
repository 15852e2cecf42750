package hostinfo

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"testing"
	"time"
)

func TestParseDescribe(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		want    *Python
		wantErr bool
	}{
		{
			name: "no packages",
			in:   "gitruns-hostinfo\nexecutable /usr/bin/python3\nversion 3.11.2\nend\n",
			want: &Python{Executable: "/usr/bin/python3", Version: "3.11.2"},
		},
		{
			name: "stray lines",
			in: "gitruns-hostinfo\nexecutable /opt/venv/bin/python\nversion 3.12.1\npackages\n" +
				"torch==2.3.0\npackage six==1.16.0\nend\n",
			want: &Python{Executable: "/opt/venv/bin/python", Version: "3.12.1", Packages: []string{"six==1.16.0"}},
		},
		{
			name: "sorting",
			in: "gitruns-hostinfo\nexecutable /opt/venv/bin/python\nversion 3.12.1\npackages\n" +
				"package torch==2.3.0\npackage PyYAML==6.0.1\npackage jsonschema-path==0.3.2\n" +
				"package jsonschema==4.21.1\npackage numpy==1.26.4\npackage numpy==1.26.4\nend\n",
			want: &Python{Executable: "/opt/venv/bin/python", Version: "3.12.1", Packages: []string{
				"jsonschema==4.21.1", "jsonschema-path==0.3.2", "numpy==1.26.4", "PyYAML==6.0.1", "torch==2.3.0",
			}},
		},
		{
			name: "noise from startup hooks",
			in: "Welcome to the cluster!\ngitruns-hostinfo is great\n" +
				"gitruns-hostinfo\nexecutable /usr/bin/python3\nversion 3.13.0rc1\npackages\nend\n",
			want: &Python{Executable: "/usr/bin/python3", Version: "3.13.0rc1", Packages: []string{}},
		},
		{
			name:    "truncated",
			in:      "gitruns-hostinfo\nexecutable /usr/bin/python3\nversion 3.11.2\npackages\npackage numpy==1.26.4\n",
			wantErr: true,
		},
		{name: "no marker", in: "Python 3.11.2\n", wantErr: true},
		{name: "no version", in: "gitruns-hostinfo\nexecutable /usr/bin/python3\nend\n", wantErr: true},
		{name: "empty", in: "", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseDescribe([]byte(tt.in))
			if (err != nil) != tt.wantErr {
				t.Fatalf("parseDescribe error = %v, want error %v", err, tt.wantErr)
			}
			if err == nil && !reflect.DeepEqual(got, tt.want) {
				t.Errorf("parseDescribe = %#v, want %#v", got, tt.want)
			}
		})
	}
}

const systemPython = "/usr/bin/python3"

func needSystemPython(t *testing.T) {
	t.Helper()
	if _, err := os.Stat(systemPython); err != nil {
		t.Skipf("no %s", systemPython)
	}
}

var (
	versionForm = regexp.MustCompile(`^3\.[0-9]+\.[0-9]+([abc]|rc)?[0-9]*\+?$`)
	packageForm = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]*==\S+$`)
)

func TestDescribeSystemPython(t *testing.T) {
	needSystemPython(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	py, err := DescribePython(ctx, systemPython, false)
	if err != nil {
		t.Fatal(err)
	}
	if !filepath.IsAbs(py.Executable) {
		t.Errorf("Executable = %q, not absolute", py.Executable)
	}
	if !versionForm.MatchString(py.Version) {
		t.Errorf("Version = %q", py.Version)
	}
	if py.Packages != nil {
		t.Errorf("Packages = %q without asking", py.Packages)
	}

	withPkgs, err := DescribePython(ctx, systemPython, true)
	if err != nil {
		t.Fatal(err)
	}
	if withPkgs.Executable != py.Executable || withPkgs.Version != py.Version {
		t.Errorf("with packages: %q %q, without: %q %q", withPkgs.Executable, withPkgs.Version, py.Executable, py.Version)
	}
	pkgs := withPkgs.Packages
	if len(pkgs) == 0 {
		t.Fatal("no packages")
	}
	seen := map[string]bool{}
	for i, p := range pkgs {
		if !packageForm.MatchString(p) {
			t.Errorf("package %q is not name==version", p)
		}
		name, _, _ := strings.Cut(p, "==")
		key := normalizeName(name)
		if seen[key] {
			t.Errorf("package %q listed twice", name)
		}
		seen[key] = true
		if i > 0 {
			prev, _, _ := strings.Cut(pkgs[i-1], "==")
			if strings.ToLower(prev) > strings.ToLower(name) {
				t.Errorf("%q sorts before %q", pkgs[i-1], p)
			}
		}
	}

	// Whatever Debian installed for this interpreter must be listed; the
	// directory names give the names without importing anything.
	debian, _ := filepath.Glob("/usr/lib/python3/dist-packages/*-*.*-info")
	for _, d := range debian {
		name, _, _ := strings.Cut(filepath.Base(d), "-")
		if !seen[normalizeName(name)] {
			t.Errorf("Debian package %s (from %s) not listed", name, d)
		}
	}
	t.Logf("%s %s, %d packages, %d from Debian metadata directories", withPkgs.Executable, withPkgs.Version, len(pkgs), len(debian))
}

// normalizeName applies the PEP 503 normalisation.
func normalizeName(name string) string {
	return strings.ToLower(regexp.MustCompile(`[-_.]+`).ReplaceAllString(name, "-"))
}

func TestDescribeHostileSurroundings(t *testing.T) {
	needSystemPython(t)
	// A sitecustomize that prints, and a platform.py in the working
	// directory that would break the script if it shadowed the real one.
	hooks := t.TempDir()
	writeFile(t, filepath.Join(hooks, "sitecustomize.py"), "print('hello from sitecustomize')\n", 0o644)
	t.Setenv("PYTHONPATH", hooks)
	work := t.TempDir()
	writeFile(t, filepath.Join(work, "platform.py"), "raise SystemExit('shadowed platform')\n", 0o644)
	t.Chdir(work)

	py, err := DescribePython(context.Background(), systemPython, true)
	if err != nil {
		t.Fatal(err)
	}
	if !versionForm.MatchString(py.Version) || len(py.Packages) == 0 {
		t.Errorf("got %+v", py)
	}
}

func TestDescribeMissingInterpreter(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "python3")
	_, err := DescribePython(context.Background(), missing, false)
	if err == nil {
		t.Fatal("no error")
	}
	if want := "describe python " + missing + ": "; !strings.HasPrefix(err.Error(), want) {
		t.Errorf("error %q does not start with %q", err, want)
	}
	if !errors.Is(err, os.ErrNotExist) {
		t.Errorf("error %v is not ErrNotExist", err)
	}

	if _, err := DescribePython(context.Background(), "", false); err == nil {
		t.Error("no error for an empty interpreter")
	}
}

func TestDescribeFailingInterpreter(t *testing.T) {
	bin := t.TempDir()
	python := fakeCommand(t, bin, "python3", `echo 'Traceback (most recent call last):' >&2
echo 'ModuleNotFoundError: No module named encodings' >&2
exit 1`)
	_, err := DescribePython(context.Background(), python, true)
	if err == nil {
		t.Fatal("no error")
	}
	if !strings.HasPrefix(err.Error(), "describe python "+python+": exit status 1: ModuleNotFoundError") {
		t.Errorf("error = %q", err)
	}

	// Exit status 0 and no answer, as from something that is not Python.
	notPython := fakeCommand(t, bin, "python", `echo "I am not a snake"`)
	if _, err := DescribePython(context.Background(), notPython, false); err == nil {
		t.Error("no error from a command that prints no description")
	}
}

func TestDescribeDeadline(t *testing.T) {
	bin := t.TempDir()
	t.Setenv("PATH", bin+string(os.PathListSeparator)+"/bin"+string(os.PathListSeparator)+"/usr/bin")
	python := fakeCommand(t, bin, "python3", "sleep 30")
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := DescribePython(ctx, python, true)
	if took := time.Since(start); took > 5*time.Second {
		t.Errorf("DescribePython took %v with a 200ms deadline", took)
	}
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("error = %v, want deadline exceeded", err)
	}
}

func BenchmarkDescribePython(b *testing.B) {
	if _, err := os.Stat(systemPython); err != nil {
		b.Skipf("no %s", systemPython)
	}
	for _, packages := range []bool{false, true} {
		name := "bare"
		if packages {
			name = "packages"
		}
		b.Run(name, func(b *testing.B) {
			for b.Loop() {
				if _, err := DescribePython(context.Background(), systemPython, packages); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkCollect(b *testing.B) {
	for b.Loop() {
		Collect(context.Background())
	}
}

// writeFile writes a file, creating its directory.
func writeFile(t *testing.T, path, content string, mode os.FileMode) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), mode); err != nil {
		t.Fatal(err)
	}
}
