package gitstore

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha1"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"

	"github.com/gitruns/gitruns/run"
	"github.com/go-git/go-git/v5/plumbing"
)

// Sync goes through the user's git for the transport, so that their
// credentials, credential helpers, ssh configuration, insteadOf and
// proxies apply exactly as for their code.
//
// Nothing fetched lands on refs/runs/* directly: a remote's runs,
// tombstones and experiments land under TrackingPrefix, and Merge brings
// them into refs/runs/* (by the rules of package merge) and
// refs/runs-experiments/*. Pushes carry a lease on what was last fetched,
// or are fast-forwards, so that they never overwrite an edit they have
// not merged.

// TrackingPrefix is where the runs, tombstones and experiments fetched
// from remotes are kept: refs/runs-remotes/<remote>/runs/<id>,
// refs/runs-remotes/<remote>/deleted/<id> and
// refs/runs-remotes/<remote>/experiments/<id>.
const TrackingPrefix = "refs/runs-remotes/"

// trackingName is the name under TrackingPrefix of remote: the remote's
// own name when it is a plain word, else (a URL, a path, a name with a
// slash) a name made from a hash of it.
func trackingName(remote string) string {
	ok := remote != "" && remote[0] != '.' && !strings.HasSuffix(remote, ".lock") && len(remote) <= 64
	for i := 0; ok && i < len(remote); i++ {
		c := remote[i]
		ok = c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.'
	}
	if ok && !strings.Contains(remote, "..") {
		return remote
	}
	sum := sha1.Sum([]byte(remote))
	return "url-" + hex.EncodeToString(sum[:8])
}

func trackingRuns(remote string) string { return TrackingPrefix + trackingName(remote) + "/runs/" }
func trackingDeleted(remote string) string {
	return TrackingPrefix + trackingName(remote) + "/deleted/"
}
func trackingExperiments(remote string) string {
	return TrackingPrefix + trackingName(remote) + "/experiments/"
}

// fetchRefspecs are what a fetch from remote asks for, and what remote
// setup configures.
func fetchRefspecs(remote string) []string {
	return []string{
		"+" + RunsPrefix + "*:" + trackingRuns(remote) + "*",
		"+" + DeletedPrefix + "*:" + trackingDeleted(remote) + "*",
		"+" + ExperimentsPrefix + "*:" + trackingExperiments(remote) + "*",
	}
}

// oldRefspec is the forced mapping of remote runs straight onto ours that
// remote setup configured before runs were merged.
const oldRefspec = "+refs/runs/*:refs/runs/*"

// Push sends runs to remote: those named by ids, or all of them when ids
// is nil, with the tombstones of runs deleted here and every experiment.
// A run the remote has is replaced only if it is still what was last
// fetched from there; the others come back rejected with a Reason for
// which Repo.Stale is true, to be fetched, merged and pushed again. A run
// in conflict with the remote's copy is not sent. Experiments are pushed
// without force: one the remote holds an edit of that is not here is
// rejected as stale too (non-fast-forward), in the report's Experiments.
// Progress goes to progress when it is not nil. Rejections are results,
// not errors; an error means the push could not happen.
func (r *Repo) Push(ctx context.Context, remote string, ids []string, progress io.Writer) (*run.PushReport, error) {
	for _, id := range ids {
		if !run.ValidID(id) {
			return nil, fmt.Errorf("push: invalid run id %q", id)
		}
	}
	plan, err := r.planPush(remote, ids)
	if err != nil {
		return nil, err
	}
	rep, err := r.push(ctx, remote, plan, progress)
	if rep != nil {
		rep.Results = append(plan.same, rep.Results...)
	}
	return rep, err
}

// refUpdate is one ref a push sends: its refspec, and the lease it needs
// ("" for none).
type refUpdate struct {
	id, spec, lease string
}

type pushPlan struct {
	// wildcard pushes every run and tombstone here, without force: what
	// the remote lacks is created, what it has the same is up to date,
	// and what it has otherwise is refused, so it never overwrites. git
	// matches each explicit refspec against every ref, here and there,
	// which made a push of 10,000 runs by name take minutes (2,000 took
	// 25 s); one pattern costs what plain git costs.
	wildcard bool
	updates  []refUpdate      // explicit refspecs, with a lease where needed
	skip     map[string]bool  // runs whose wildcard results are not theirs to tell
	same     []run.PushResult // runs not sent, with why
	// The refs as planned from, for noting what was pushed without
	// listing them again.
	local, tracked, tombs, trackedTombs map[string]plumbing.Hash
	exps, trackedExps                   map[string]plumbing.Hash // experiments, by id
}

// planPush decides what a push to remote sends.
func (r *Repo) planPush(remote string, ids []string) (*pushPlan, error) {
	local, err := r.runRefs()
	if err != nil {
		return nil, err
	}
	tracked, err := r.idRefs(trackingRuns(remote))
	if err != nil {
		return nil, err
	}
	tombs, err := r.Tombstones()
	if err != nil {
		return nil, err
	}
	trackedTombs, err := r.idRefs(trackingDeleted(remote))
	if err != nil {
		return nil, err
	}
	exps, err := r.experimentRefs(ExperimentsPrefix)
	if err != nil {
		return nil, err
	}
	trackedExps, err := r.experimentRefs(trackingExperiments(remote))
	if err != nil {
		return nil, err
	}
	conflicts := r.conflicted(trackingName(remote))
	picked := make(map[string]bool, len(ids))
	for _, id := range ids {
		picked[id] = true
	}
	want := func(id string) bool { return ids == nil || picked[id] }
	p := &pushPlan{wildcard: ids == nil, skip: map[string]bool{},
		local: local, tracked: tracked, tombs: tombs, trackedTombs: trackedTombs,
		exps: exps, trackedExps: trackedExps}
	for _, id := range slices.Sorted(maps.Keys(local)) {
		if !want(id) || tombs[id] != (plumbing.Hash{}) {
			continue
		}
		ref := RefName(id)
		t, ok := tracked[id]
		switch {
		case ok && t != local[id] && conflicts[id] == t:
			// Pushing would replace their copy with ours: a conflict is for
			// people to settle (docs/FORMAT.md).
			p.skip[id] = true
			p.same = append(p.same, run.PushResult{ID: id, Status: "rejected", Reason: "in conflict with the remote's copy; see git runs fetch --help"})
		case ok && t != local[id]:
			// Changed here since the remote was last seen: replaced there
			// only if still as seen. No "+", which would override the lease.
			p.skip[id] = true
			p.updates = append(p.updates, refUpdate{id, ref + ":" + ref, ref + ":" + t.String()})
		case !p.wildcard:
			// Not forced: git refuses it if the remote has the run, at a
			// commit this one does not descend from, which is any.
			p.updates = append(p.updates, refUpdate{id, ref + ":" + ref, ""})
		}
	}
	if len(exps) > 0 && !p.wildcard {
		// Every experiment travels with any run: a run's experiment may be
		// one, and there are few. No "+": an edit there not merged here
		// is refused, as a non-fast-forward.
		p.updates = append(p.updates, refUpdate{spec: ExperimentsPrefix + "*:" + ExperimentsPrefix + "*"})
	}
	for _, id := range slices.Sorted(maps.Keys(tombs)) {
		if !want(id) {
			continue
		}
		if _, ok := trackedTombs[id]; !ok && !p.wildcard {
			ref := DeletedPrefix + id
			p.updates = append(p.updates, refUpdate{id, ref + ":" + ref, ""})
		}
		if _, ok := tracked[id]; ok {
			// A tombstone beats every copy, however new: no lease needed.
			p.updates = append(p.updates, refUpdate{id, ":" + RefName(id), ""})
		}
	}
	return p, nil
}

// Stale tells whether a push was rejected because the remote has an edit
// of the run that was not fetched and merged here.
func (r *Repo) Stale(reason string) bool {
	for _, s := range []string{
		"stale info", "fetch first", "non-fast-forward",
		// The remote's side of a push racing another one to the ref.
		"cannot lock ref", "failed to update ref", "incorrect old value",
	} {
		if strings.Contains(reason, s) {
			return true
		}
	}
	return false
}

// maxPushArgs bounds the bytes of refspecs and leases on one git push
// command line, well within the system's limit on arguments.
const maxPushArgs = 512 << 10

func (r *Repo) push(ctx context.Context, remote string, plan *pushPlan, progress io.Writer) (*run.PushReport, error) {
	rep := &run.PushReport{}
	var all []pushed
	forwarded := map[string]bool{} // runs the wildcard push moved ahead
	var sent []float64
	if plan.wildcard {
		specs := []refUpdate{
			{spec: RunsPrefix + "*:" + RunsPrefix + "*"},
			{spec: DeletedPrefix + "*:" + DeletedPrefix + "*"},
		}
		if len(plan.exps) > 0 {
			specs = append(specs, refUpdate{spec: ExperimentsPrefix + "*:" + ExperimentsPrefix + "*"})
		}
		res, bytes, err := r.pushChunk(ctx, remote, specs, progress)
		for _, p := range res {
			switch {
			case !plan.skip[p.ID] || p.ref != RefName(p.ID):
				all = append(all, p)
			case p.Status == "sent":
				// A fast-forward (an addition to an ended run, on top
				// of the copy there) loses nothing there: no lease needed.
				all = append(all, p)
				forwarded[p.ID] = true
			}
		}
		if bytes > 0 {
			sent = append(sent, bytes)
		}
		if err != nil {
			rep.Results, rep.Experiments = results(all)
			return rep, err
		}
	}
	updates := slices.DeleteFunc(slices.Clone(plan.updates), func(u refUpdate) bool {
		return forwarded[u.id] && u.spec == RefName(u.id)+":"+RefName(u.id)
	})
	for len(updates) > 0 {
		n, size := 0, 0
		for n < len(updates) && (n == 0 || size+len(updates[n].spec)+len(updates[n].lease)+24 < maxPushArgs) {
			size += len(updates[n].spec) + len(updates[n].lease) + 24
			n++
		}
		res, bytes, err := r.pushChunk(ctx, remote, updates[:n], progress)
		all = append(all, res...)
		if bytes > 0 {
			sent = append(sent, bytes)
		}
		if err != nil {
			rep.Results, rep.Experiments = results(all)
			return rep, err
		}
		updates = updates[n:]
	}
	rep.Results, rep.Experiments = results(all)
	for _, res := range rep.Results {
		if res.Status == "sent" || res.Status == "deleted" {
			rep.Runs++
		}
	}
	var total float64
	for _, b := range sent {
		total += b
	}
	rep.Bytes = int64(total)
	return rep, r.noteTracking(remote, plan, all)
}

// noteTracking records what a push left on remote as last fetched from
// there, so that the next push leases on it. (git does so itself for a
// remote set up with fetchRefspecs.)
func (r *Repo) noteTracking(remote string, plan *pushPlan, res []pushed) error {
	local, localTombs, runs, tombs := plan.local, plan.tombs, plan.tracked, plan.trackedTombs
	var set []Ref
	var gone []string
	for _, pr := range res {
		ok := pr.Status == "sent" || pr.Status == "up to date"
		switch {
		case ok && pr.ref == RefName(pr.ID):
			if h, here := local[pr.ID]; here && runs[pr.ID] != h {
				set = append(set, Ref{Name: trackingRuns(remote) + pr.ID, Hash: h})
			}
		case ok && pr.ref == DeletedPrefix+pr.ID:
			if h, here := localTombs[pr.ID]; here && tombs[pr.ID] != h {
				set = append(set, Ref{Name: trackingDeleted(remote) + pr.ID, Hash: h})
			}
		case ok && pr.ref == ExperimentRef(pr.ID):
			if h, here := plan.exps[pr.ID]; here && plan.trackedExps[pr.ID] != h {
				set = append(set, Ref{Name: trackingExperiments(remote) + pr.ID, Hash: h})
			}
		case pr.Status == "deleted" && runs[pr.ID] != (plumbing.Hash{}):
			gone = append(gone, trackingRuns(remote)+pr.ID)
		}
	}
	if err := r.setRefs(set); err != nil {
		return fmt.Errorf("note what was pushed to %s: %w", remote, err)
	}
	if err := r.noteSent(trackingName(remote), set, gone); err != nil {
		return fmt.Errorf("note what was pushed to %s: %w", remote, err)
	}
	for _, name := range gone {
		if err := r.DeleteRef(name, AnyHash); err != nil && !errors.Is(err, errNotFound) {
			return fmt.Errorf("note what was pushed to %s: %w", remote, err)
		}
	}
	return nil
}

// setRefs points refs at their values: one by one when they are few, in
// one write of packed-refs when they are many.
func (r *Repo) setRefs(refs []Ref) error {
	if len(refs) >= bulkNew {
		return r.setPacked(refs)
	}
	for _, ref := range refs {
		if err := r.UpdateRef(ref.Name, ref.Hash, AnyHash); err != nil {
			return err
		}
	}
	return nil
}

func (r *Repo) pushChunk(ctx context.Context, remote string, updates []refUpdate, progress io.Writer) ([]pushed, float64, error) {
	if err := CheckGit(); err != nil {
		return nil, 0, err
	}
	// --progress always: the size sent is read from git's progress lines.
	args := []string{"push", "--porcelain", "--progress"}
	for _, u := range updates {
		if u.lease != "" {
			args = append(args, "--force-with-lease="+u.lease)
		}
	}
	args = append(args, "--", remote)
	for _, u := range updates {
		args = append(args, u.spec)
	}
	cmd := exec.CommandContext(ctx, "git", args...)
	cmd.Dir = r.gitCwd()
	cmd.Env = r.gitEnv()
	var stdout, stderr bytes.Buffer
	cmd.Stdout = &stdout
	cmd.Stderr = &stderr
	if progress != nil {
		cmd.Stderr = io.MultiWriter(&stderr, progress)
	}
	runErr := cmd.Run()
	if ctx.Err() != nil {
		return nil, 0, fmt.Errorf("git push: %w", ctx.Err())
	}
	res, sawDone := parsePorcelain(stdout.Bytes())
	remoteSaid := remoteMessage(stderr.Bytes())
	for i := range res {
		if res[i].Status == "rejected" && remoteSaid != "" {
			res[i].Reason += ": " + remoteSaid
		}
	}
	sent := sentBytes(stderr.Bytes())
	if runErr != nil && len(res) == 0 {
		return nil, 0, gitError(args[:3], stderr.Bytes(), runErr)
	}
	if runErr != nil && !sawDone && !hasRejection(res) {
		return res, sent, gitError(args[:3], stderr.Bytes(), runErr)
	}
	return res, sent, nil
}

// sentBytes reads the size of what git sent from its last "Writing
// objects: 100% (n/n), 1.21 MiB | …" progress line, in bytes.
func sentBytes(stderr []byte) float64 {
	i := bytes.LastIndex(stderr, []byte("Writing objects: 100%"))
	if i < 0 {
		return 0
	}
	line := stderr[i:]
	if j := bytes.IndexAny(line, "\r\n"); j >= 0 {
		line = line[:j]
	}
	_, rest, ok := bytes.Cut(line, []byte("), "))
	if !ok {
		return 0
	}
	f := strings.Fields(string(rest))
	if len(f) < 2 {
		return 0
	}
	n, err := strconv.ParseFloat(f[0], 64)
	if err != nil {
		return 0
	}
	unit := map[string]float64{"bytes": 1, "KiB": 1 << 10, "MiB": 1 << 20, "GiB": 1 << 30}[strings.TrimSuffix(f[1], ",")]
	return n * unit
}

func (r *Repo) gitCwd() string {
	if r.WorkTree != "" {
		return r.WorkTree
	}
	return r.CommonDir
}

// pushed is what became of one ref in a push.
type pushed struct {
	run.PushResult
	ref string
}

// parsePorcelain reads git push --porcelain: a "To <url>" line, then
// "<flag>\t<from>:<to>\t<summary>" per ref, then "Done".
func parsePorcelain(out []byte) (res []pushed, done bool) {
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
		id, ok := "", false
		for _, prefix := range []string{RunsPrefix, DeletedPrefix, ExperimentsPrefix} {
			if id, ok = strings.CutPrefix(to, prefix); ok {
				break
			}
		}
		if !ok {
			continue
		}
		pr := pushed{run.PushResult{ID: id}, to}
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

// results are the push results of runs, and apart those of experiments:
// a tombstone sent is told by the deletion of its run, and shown only
// when refused.
func results(res []pushed) (runs, exps []run.PushResult) {
	runs = make([]run.PushResult, 0, len(res))
	for _, p := range res {
		switch {
		case strings.HasPrefix(p.ref, ExperimentsPrefix):
			exps = append(exps, p.PushResult)
		case p.ref == RefName(p.ID) || p.Status == "rejected":
			runs = append(runs, p.PushResult)
		}
	}
	return runs, exps
}

func hasRejection(res []pushed) bool {
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

// Fetch brings remote's runs, tombstones and experiments (and, through
// the runs' parents, the code they ran) under TrackingPrefix, then merges
// them into those here, as Merge does.
func (r *Repo) Fetch(ctx context.Context, remote string, progress io.Writer) (*run.FetchResult, error) {
	if err := CheckGit(); err != nil {
		return nil, err
	}
	if err := r.upgradeRemote(ctx, remote); err != nil {
		return nil, err
	}
	args := []string{"fetch", "--no-write-fetch-head", "--prune"}
	if progress != nil {
		args = append(args, "--progress")
	} else {
		args = append(args, "--quiet")
	}
	args = append(append(args, "--", remote), fetchRefspecs(remote)...)
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
		return nil, gitError(args[:1], stderr.Bytes(), err)
	}
	return r.Merge(ctx, remote)
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

// upgradeRemote sets up again a remote that earlier versions set up: to
// fetch runs straight onto refs/runs/*, where a plain git fetch would
// still overwrite the runs here, or to fetch runs and tombstones without
// experiments, which a plain git fetch would then leave behind.
func (r *Repo) upgradeRemote(ctx context.Context, remote string) error {
	out, err := runGit(ctx, r.gitCwd(), r.gitEnv(), nil, "config", "--get-all", "remote."+remote+".fetch")
	if err != nil {
		return nil // not a configured remote
	}
	have := strings.Split(string(out), "\n")
	specs := fetchRefspecs(remote)
	setUp := slices.Contains(have, specs[0])
	partly := slices.ContainsFunc(specs, func(s string) bool { return !slices.Contains(have, s) })
	if !slices.Contains(have, oldRefspec) && !(setUp && partly) {
		return nil // not set up, or set up as now
	}
	_, err = r.SetupRemote(ctx, remote)
	return err
}

// SetupRemote configures remote's fetches to bring its runs, tombstones
// and experiments under TrackingPrefix, so that a plain git fetch or git pull
// brings runs too, for the next git-runs command to merge; it replaces
// the forced mapping onto refs/runs/* that earlier versions configured.
// It reports whether it changed anything.
func (r *Repo) SetupRemote(ctx context.Context, remote string) (bool, error) {
	if _, err := runGit(ctx, r.gitCwd(), r.gitEnv(), nil, "config", "--get", "remote."+remote+".url"); err != nil {
		return false, fmt.Errorf("no remote %q", remote)
	}
	out, err := runGit(ctx, r.gitCwd(), r.gitEnv(), nil, "config", "--get-all", "remote."+remote+".fetch")
	if err != nil && !strings.Contains(err.Error(), "exit status 1") {
		return false, err
	}
	have := map[string]bool{}
	for _, l := range strings.Split(string(out), "\n") {
		have[strings.TrimSpace(l)] = true
	}
	changed := false
	if have[oldRefspec] {
		if _, err := runGit(ctx, r.gitCwd(), r.gitEnv(), nil, "config", "--fixed-value", "--unset-all", "remote."+remote+".fetch", oldRefspec); err != nil {
			return false, err
		}
		changed = true
	}
	for _, spec := range fetchRefspecs(remote) {
		if have[spec] {
			continue
		}
		if _, err := runGit(ctx, r.gitCwd(), r.gitEnv(), nil, "config", "--add", "remote."+remote+".fetch", spec); err != nil {
			return false, err
		}
		changed = true
	}
	return changed, nil
}
