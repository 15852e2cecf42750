package gitstore

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"sort"
	"strings"

	"github.com/gitruns/gitruns/run"
	"github.com/go-git/go-git/v5/plumbing"
)

// RunsRefspec maps every run ref of a remote onto the same local ref.
// Forced, because a live run's ref moves to a commit that replaces,
// rather than descends from, the previous one.
const RunsRefspec = "+refs/runs/*:refs/runs/*"

// Sync goes through the user's git for the transport, so that their
// credentials, credential helpers, ssh configuration, insteadOf and
// proxies apply exactly as for their code.

// Push sends runs to remote: those named by ids, or all of them when ids
// is nil. Progress goes to progress when it is not nil. Rejections are
// results, not errors; an error means the push could not happen at all.
func (r *Repo) Push(ctx context.Context, remote string, ids []string, progress io.Writer) ([]run.PushResult, error) {
	specs := []string{RunsRefspec}
	if ids != nil {
		specs = specs[:0]
		for _, id := range ids {
			if !run.ValidID(id) {
				return nil, fmt.Errorf("push: invalid run id %q", id)
			}
			specs = append(specs, "+"+RefName(id)+":"+RefName(id))
		}
	}
	return r.push(ctx, remote, specs, progress)
}

// DeleteRemote deletes runs on remote.
func (r *Repo) DeleteRemote(ctx context.Context, remote string, ids []string) ([]run.PushResult, error) {
	specs := make([]string, len(ids))
	for i, id := range ids {
		if !run.ValidID(id) {
			return nil, fmt.Errorf("delete on %s: invalid run id %q", remote, id)
		}
		specs[i] = ":" + RefName(id)
	}
	return r.push(ctx, remote, specs, nil)
}

// maxSpecsPerPush keeps a command line well within the system's limit.
const maxSpecsPerPush = 2000

func (r *Repo) push(ctx context.Context, remote string, specs []string, progress io.Writer) ([]run.PushResult, error) {
	var all []run.PushResult
	for len(specs) > 0 {
		n := min(len(specs), maxSpecsPerPush)
		res, err := r.pushChunk(ctx, remote, specs[:n], progress)
		all = append(all, res...)
		if err != nil {
			return all, err
		}
		specs = specs[n:]
	}
	return all, nil
}

func (r *Repo) pushChunk(ctx context.Context, remote string, specs []string, progress io.Writer) ([]run.PushResult, error) {
	if err := CheckGit(); err != nil {
		return nil, err
	}
	args := []string{"push", "--porcelain"}
	if progress != nil {
		args = append(args, "--progress")
	}
	args = append(append(args, "--", remote), specs...)
	cmd := exec.CommandContext(ctx, "git", args...)
	cmd.Dir = r.gitCwd()
	cmd.Env = r.gitEnv()
	var stdout, stderr bytes.Buffer
	cmd.Stdout = &stdout
	if progress != nil {
		cmd.Stderr = io.MultiWriter(&stderr, progress)
	} else {
		cmd.Stderr = &stderr
	}
	runErr := cmd.Run()
	if ctx.Err() != nil {
		return nil, fmt.Errorf("git push: %w", ctx.Err())
	}
	res, sawDone := parsePorcelain(stdout.Bytes())
	remoteSaid := remoteMessage(stderr.Bytes())
	for i := range res {
		if res[i].Status == "rejected" && remoteSaid != "" {
			res[i].Reason += ": " + remoteSaid
		}
	}
	if runErr != nil && len(res) == 0 {
		return nil, gitError(args, stderr.Bytes(), runErr)
	}
	if runErr != nil && !sawDone && !hasRejection(res) {
		return res, gitError(args, stderr.Bytes(), runErr)
	}
	return res, nil
}

func (r *Repo) gitCwd() string {
	if r.WorkTree != "" {
		return r.WorkTree
	}
	return r.CommonDir
}

// parsePorcelain reads git push --porcelain: a "To <url>" line, then
// "<flag>\t<from>:<to>\t<summary>" per ref, then "Done".
func parsePorcelain(out []byte) (res []run.PushResult, done bool) {
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		line := sc.Text()
		if line == "Done" {
			done = true
			continue
		}
		if len(line) < 3 || line[1] != '\t' {
			continue
		}
		f := strings.SplitN(line[2:], "\t", 2)
		_, to, _ := strings.Cut(f[0], ":")
		summary := ""
		if len(f) == 2 {
			summary = f[1]
		}
		id, ok := strings.CutPrefix(to, RunsPrefix)
		if !ok {
			continue
		}
		pr := run.PushResult{ID: id}
		switch line[0] {
		case '=':
			pr.Status = "up to date"
		case '-':
			pr.Status = "deleted"
		case '!':
			pr.Status = "rejected"
			pr.Reason = strings.Trim(summary, "[]")
			if i := strings.Index(summary, "("); i >= 0 {
				pr.Reason = strings.TrimSuffix(summary[i+1:], ")")
			}
		default: // ' ', '+', '*'
			pr.Status = "sent"
		}
		res = append(res, pr)
	}
	return res, done
}

func hasRejection(res []run.PushResult) bool {
	for _, r := range res {
		if r.Status == "rejected" {
			return true
		}
	}
	return false
}

// remoteMessage picks what the remote side said ("remote: …" lines),
// which carries a host's or a hook's reason for refusing refs.
func remoteMessage(stderr []byte) string {
	var msgs []string
	for _, l := range strings.Split(string(stderr), "\n") {
		if m, ok := strings.CutPrefix(l, "remote: "); ok && strings.TrimSpace(m) != "" {
			msgs = append(msgs, strings.TrimSpace(m))
		}
	}
	return strings.Join(msgs, " / ")
}

// Fetch brings remote's runs (and, through their parents, the code they
// ran) with RunsRefspec.
func (r *Repo) Fetch(ctx context.Context, remote string, progress io.Writer) (*run.FetchResult, error) {
	if err := CheckGit(); err != nil {
		return nil, err
	}
	before, err := r.runRefs()
	if err != nil {
		return nil, err
	}
	args := []string{"fetch", "--no-write-fetch-head"}
	if progress != nil {
		args = append(args, "--progress")
	} else {
		args = append(args, "--quiet")
	}
	args = append(args, "--", remote, RunsRefspec)
	cmd := exec.CommandContext(ctx, "git", args...)
	cmd.Dir = r.gitCwd()
	cmd.Env = r.gitEnv()
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if progress != nil {
		cmd.Stderr = io.MultiWriter(&stderr, progress)
	}
	if err := cmd.Run(); err != nil {
		if ctx.Err() != nil {
			return nil, fmt.Errorf("git fetch: %w", ctx.Err())
		}
		return nil, gitError(args, stderr.Bytes(), err)
	}
	// New runs are told by name alone; only runs that were here before
	// need their ref read again, which keeps a first fetch of many runs
	// from reading every ref file it just wrote.
	after, err := r.runNames()
	if err != nil {
		return nil, err
	}
	res := &run.FetchResult{}
	for id := range after {
		old, ok := before[id]
		if !ok {
			res.New = append(res.New, id)
			continue
		}
		if h, err := r.ReadRef(RefName(id)); err == nil && h != old {
			res.Updated = append(res.Updated, id)
		}
	}
	sort.Strings(res.New)
	sort.Strings(res.Updated)
	return res, nil
}

func (r *Repo) runRefs() (map[string]plumbing.Hash, error) {
	refs, err := r.ListRefs(RunsPrefix)
	if err != nil {
		return nil, err
	}
	m := make(map[string]plumbing.Hash, len(refs))
	for _, ref := range refs {
		m[strings.TrimPrefix(ref.Name, RunsPrefix)] = ref.Hash
	}
	return m, nil
}

// runNames lists the run ids present, reading directory entries and
// packed-refs but no loose ref file.
func (r *Repo) runNames() (map[string]bool, error) {
	names := map[string]bool{}
	ents, err := os.ReadDir(r.refPath(RunsPrefix))
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, err
	}
	for _, e := range ents {
		if e.Type().IsRegular() && !strings.HasSuffix(e.Name(), ".lock") {
			names[e.Name()] = true
		}
	}
	p, err := r.loadPacked()
	if err != nil {
		return nil, err
	}
	for _, ref := range p.withPrefix(RunsPrefix) {
		names[strings.TrimPrefix(ref.Name, RunsPrefix)] = true
	}
	return names, nil
}

// RemoteRuns lists the runs on remote: the commit of each, by id.
func (r *Repo) RemoteRuns(ctx context.Context, remote string) (map[string]string, error) {
	if err := CheckGit(); err != nil {
		return nil, err
	}
	out, err := runGit(ctx, r.gitCwd(), r.gitEnv(), nil, "ls-remote", "--", remote, RunsPrefix+"*")
	if err != nil {
		return nil, err
	}
	m := map[string]string{}
	for _, l := range strings.Split(string(out), "\n") {
		h, ref, ok := strings.Cut(l, "\t")
		id, isRun := strings.CutPrefix(ref, RunsPrefix)
		if ok && isRun && run.ValidID(id) {
			m[id] = h
		}
	}
	return m, nil
}

// LocalRuns lists the runs here: the commit of each, by id.
func (r *Repo) LocalRuns(ctx context.Context) (map[string]string, error) {
	refs, err := r.runRefs()
	if err != nil {
		return nil, err
	}
	m := make(map[string]string, len(refs))
	for id, h := range refs {
		m[id] = h.String()
	}
	return m, nil
}

// DefaultRemote is the remote of the current branch, else "origin".
func (r *Repo) DefaultRemote() string {
	_, branch, err := r.headCommit()
	if err == nil && branch != "" {
		if name, ok := r.config("branch." + branch + ".remote"); ok && name != "" && name != "." {
			return name
		}
	}
	return "origin"
}

// SetupRemote adds RunsRefspec to remote's fetch configuration, so that a
// plain git fetch or git pull brings runs too. It reports whether it
// changed anything.
func (r *Repo) SetupRemote(ctx context.Context, remote string) (bool, error) {
	if _, err := runGit(ctx, r.gitCwd(), r.gitEnv(), nil, "config", "--get", "remote."+remote+".url"); err != nil {
		return false, fmt.Errorf("no remote %q", remote)
	}
	out, err := runGit(ctx, r.gitCwd(), r.gitEnv(), nil, "config", "--get-all", "remote."+remote+".fetch")
	var exit *exec.ExitError
	if err != nil && !errors.As(err, &exit) && !strings.Contains(err.Error(), "exit status 1") {
		return false, err
	}
	for _, l := range strings.Split(string(out), "\n") {
		if strings.TrimSpace(l) == RunsRefspec {
			return false, nil
		}
	}
	_, err = runGit(ctx, r.gitCwd(), r.gitEnv(), nil, "config", "--add", "remote."+remote+".fetch", RunsRefspec)
	return err == nil, err
}

// fetchedPath lists runs fetched from a remote and not yet looked at
// here: one "<id> <remote>" line each.
func (r *Repo) fetchedPath() string { return r.privateDir() + "/fetched" }

// Fetched returns the runs marked as fetched, with the remote each came
// from.
func (r *Repo) Fetched() map[string]string {
	data, err := readFileIfExists(r.fetchedPath())
	if err != nil {
		return nil
	}
	m := map[string]string{}
	for _, l := range strings.Split(string(data), "\n") {
		if id, remote, ok := strings.Cut(l, " "); ok {
			m[id] = remote
		}
	}
	return m
}

// MarkFetched marks runs as fetched from remote; MarkSeen (ids from
// nil remote) clears the mark.
func (r *Repo) MarkFetched(remote string, ids []string) error {
	m := r.Fetched()
	if m == nil {
		m = map[string]string{}
	}
	for _, id := range ids {
		if remote == "" {
			delete(m, id)
		} else {
			m[id] = remote
		}
	}
	var b strings.Builder
	for _, id := range sortedIDs(m) {
		b.WriteString(id + " " + m[id] + "\n")
	}
	return writeFileAtomic(r.fetchedPath(), []byte(b.String()))
}

// MarkSeen clears the fetched mark of runs.
func (r *Repo) MarkSeen(ids ...string) error {
	m := r.Fetched()
	found := false
	for _, id := range ids {
		if _, ok := m[id]; ok {
			found = true
		}
	}
	if !found {
		return nil
	}
	return r.MarkFetched("", ids)
}

func sortedIDs(m map[string]string) []string {
	ids := make([]string, 0, len(m))
	for id := range m {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	return ids
}
