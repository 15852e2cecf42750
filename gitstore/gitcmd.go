package gitstore

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
)

// repoEnvVars locate a repository or index for git. They are dropped from
// the environment we pass on and set again explicitly, so that git works on
// the repository this Repo opened whatever the caller's environment says.
var repoEnvVars = []string{
	"GIT_DIR", "GIT_WORK_TREE", "GIT_INDEX_FILE", "GIT_COMMON_DIR",
	"GIT_PREFIX", "GIT_OBJECT_DIRECTORY", "GIT_NAMESPACE",
}

// gitEnv returns the environment for a git command on r: the process's
// environment without the repository-locating variables, then GIT_DIR and
// GIT_WORK_TREE for r, then extra ("KEY=value").
func (r *Repo) gitEnv(extra ...string) []string {
	env := make([]string, 0, len(os.Environ())+2+len(extra))
outer:
	for _, kv := range os.Environ() {
		for _, k := range repoEnvVars {
			if strings.HasPrefix(kv, k+"=") {
				continue outer
			}
		}
		env = append(env, kv)
	}
	env = append(env, "GIT_DIR="+r.GitDir)
	if r.WorkTree != "" {
		env = append(env, "GIT_WORK_TREE="+r.WorkTree)
	}
	return append(env, extra...)
}

// runGit runs `git <args>` in dir with env and stdin and returns its
// standard output. On failure the error reads "git <subcommand>: <first
// line git wrote to standard error>"; when ctx ends first, git is killed
// and the error wraps ctx's.
func runGit(ctx context.Context, dir string, env []string, stdin io.Reader, args ...string) ([]byte, error) {
	cmd := exec.CommandContext(ctx, "git", args...)
	cmd.Dir = dir
	cmd.Env = env
	cmd.Stdin = stdin
	var stdout, stderr bytes.Buffer
	cmd.Stdout = &stdout
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		if ctx.Err() != nil {
			return stdout.Bytes(), fmt.Errorf("git %s: %w", args[0], ctx.Err())
		}
		// git's version is checked only now, not before every first
		// command: a git too old for our options is the likely cause.
		if gerr := CheckGit(); gerr != nil {
			return stdout.Bytes(), gerr
		}
		return stdout.Bytes(), gitError(args, stderr.Bytes(), err)
	}
	return stdout.Bytes(), nil
}

func gitError(args []string, stderr []byte, err error) error {
	sub := "git"
	if len(args) > 0 {
		sub = "git " + args[0]
	}
	if errors.Is(err, exec.ErrNotFound) {
		return fmt.Errorf("%s: %w", sub, errNoGit)
	}
	line, _, _ := strings.Cut(strings.TrimSpace(string(stderr)), "\n")
	if line == "" {
		return fmt.Errorf("%s: %w", sub, err)
	}
	return fmt.Errorf("%s: %s", sub, strings.TrimSpace(line))
}
