package live

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/gitruns/gitruns/run"
)

// PrivateEnv names the variable that, set to a true value (1, true, yes,
// on), keeps the machine out of the runs recorded; set to a false one, it
// overrides a store's setting (git config runs.private).
const PrivateEnv = "GITRUNS_PRIVATE"

// Privacy is implemented by stores that have a setting for keeping the
// machine out of runs, for people who push them to public remotes.
type Privacy interface {
	// Private reports whether runs recorded in the store are private:
	// they keep no host name, user name or absolute path (see Private).
	Private() bool
}

// Private reports whether runs recorded into s leave out the host name,
// the user name and absolute paths: PrivateEnv when it is set to a bool,
// else s's own setting when s is a Privacy. A private run records no
// host.hostname, host.user or host.python_executable; in its command, its
// recorded variables and its string params, an absolute path below the
// current directory becomes relative to it ("data/train"), and any other
// becomes "[path]/" and its last element ("[path]/python3").
func Private(s Store) bool {
	if v, ok := os.LookupEnv(PrivateEnv); ok {
		if b, ok := parseBool(v); ok {
			return b
		}
	}
	p, ok := s.(Privacy)
	return ok && p.Private()
}

// parseBool reads a bool as git config and people write them.
func parseBool(v string) (bool, bool) {
	switch strings.ToLower(strings.TrimSpace(v)) {
	case "1", "true", "yes", "on":
		return true, true
	case "0", "false", "no", "off", "":
		return false, true
	}
	if b, err := strconv.ParseBool(v); err == nil {
		return b, true
	}
	return false, false
}

// privatePath hides the directories of an absolute path, as Private says.
func privatePath(p, cwd string) string {
	if !filepath.IsAbs(p) {
		return p
	}
	if cwd != "" {
		if rel, err := filepath.Rel(cwd, p); err == nil && rel != ".." && !strings.HasPrefix(rel, ".."+string(filepath.Separator)) {
			return filepath.ToSlash(rel)
		}
	}
	return "[path]/" + filepath.Base(p)
}

// privateString hides the absolute paths in s: s itself when it is one,
// or the value of a --flag=/path or key=/path.
func privateString(s, cwd string) string {
	if filepath.IsAbs(s) {
		return privatePath(s, cwd)
	}
	if i := strings.Index(s, "="+string(filepath.Separator)); i >= 0 {
		return s[:i+1] + privatePath(s[i+1:], cwd)
	}
	return s
}

// makePrivate takes out of o, and of the start entry e, what a private
// run does not record.
func makePrivate(o *Options, params, defaults map[string]any) {
	cwd, _ := os.Getwd()
	if o.Command != nil {
		cmd := make([]string, len(o.Command))
		for i, a := range o.Command {
			cmd[i] = privateString(a, cwd)
		}
		o.Command = cmd
	}
	if o.Env != nil {
		env := make(map[string]string, len(o.Env))
		for k, v := range o.Env {
			env[k] = privateString(v, cwd)
		}
		o.Env = env
	}
	for _, m := range []map[string]any{params, defaults} {
		for k, v := range m {
			m[k] = privateParam(v, cwd)
		}
	}
}

// privateParam hides the absolute paths in a param value.
func privateParam(v any, cwd string) any {
	switch v := v.(type) {
	case string:
		return privateString(v, cwd)
	case []any:
		out := make([]any, len(v))
		for i, e := range v {
			out[i] = privateParam(e, cwd)
		}
		return out
	}
	return v
}

// privateHost is h without the facts a private run keeps to itself.
func privateHost(h run.Host) run.Host {
	h.Hostname, h.User, h.PythonExecutable = "", "", ""
	return h
}
