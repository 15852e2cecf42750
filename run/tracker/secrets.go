package tracker

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"maps"
	"os"
	"slices"
	"strings"

	"github.com/gitruns/gitruns/diff"
	"github.com/gitruns/gitruns/run"
	"github.com/gitruns/gitruns/run/secret"
)

// A SecretFinding is a secret found in what a push of a run would send.
// It names where the secret is, never the secret itself, so that it can be
// shown and logged.
type SecretFinding struct {
	Run   string // the run's id
	Where string // "output.log line 12", "params.api", "command[3]", "artifacts/cfg.json line 2", "snapshot: config/.env"
	Kind  string // what it looks like: "GitHub token", "private key", "secret file", ...
}

// scanLimit bounds how much of each file ScanSecrets reads: a secret in a
// text file is near its start, and model weights are not text.
const scanLimit = 4 << 20

// KindSecretFile is the Kind of a snapshot file whose name says it holds
// secrets (secret.IsSecretFile), whatever its content.
const KindSecretFile = "secret file"

// ScanSecrets looks for secrets in what pushing runs would send: each
// run's record (command, params, tags, env, host, name), its output, its
// artifacts, and the files of its snapshot that differ from its code
// commit, which the push carries with the run; files already committed
// are the code's own business; and the records and artifacts of the
// commits a run's additions after its end were made on top of, which the
// push carries too. Secrets are recognised by their shape
// (secret.Redactor.Find) and as the values of this process's secret
// variables; files of text only (no NUL byte in their first 8 KiB), the
// first 4 MiB of each. Runs not committed yet are skipped, as a push
// sends nothing of them. Findings come in the order of runs, then record,
// output, artifacts, snapshot and earlier commits.
func (t *Tracker) ScanSecrets(ctx context.Context, runs []Run) ([]SecretFinding, error) {
	red := secret.NewRedactor(os.Environ())
	var out []SecretFinding
	for _, r := range runs {
		if err := ctx.Err(); err != nil {
			return out, err
		}
		if r.Commit == "" || r.Record == nil {
			continue
		}
		add := func(where, kind string) { out = append(out, SecretFinding{Run: r.ID, Where: where, Kind: kind}) }
		scanRecord(red, r.Record, add)

		text, err := t.store.Output(ctx, r.Commit)
		if err != nil {
			return out, fmt.Errorf("scan output of %s: %w", r.ID, err)
		}
		scanText(red, "output.log", text, add)

		if err := t.scanArtifacts(ctx, red, r.Commit, "", add); err != nil {
			return out, fmt.Errorf("scan artifacts of %s: %w", r.ID, err)
		}
		src := r.Record.Source
		if code, ok := t.code(); ok && src.Snapshot != "" {
			if err := scanSnapshot(code, red, src, add); err != nil {
				return out, fmt.Errorf("scan snapshot of %s: %w", r.ID, err)
			}
		}
		if err := t.scanEarlier(ctx, red, r.Commit, add); err != nil {
			return out, fmt.Errorf("scan earlier commits of %s: %w", r.ID, err)
		}
	}
	return out, nil
}

// scanArtifacts reports the secrets in the artifacts of run commit c,
// each named with prefix before it.
func (t *Tracker) scanArtifacts(ctx context.Context, red *secret.Redactor, c, prefix string, add func(where, kind string)) error {
	arts, err := t.store.Artifacts(ctx, c)
	if err != nil {
		return err
	}
	for _, a := range arts {
		f, err := t.store.OpenArtifact(ctx, c, a.Path)
		if err != nil {
			return fmt.Errorf("artifact %s: %w", a.Path, err)
		}
		b, err := io.ReadAll(io.LimitReader(f, scanLimit))
		f.Close()
		if err != nil {
			return fmt.Errorf("artifact %s: %w", a.Path, err)
		}
		scanText(red, prefix+"artifacts/"+a.Path, b, add)
	}
	return nil
}

// maxEarlier bounds how many earlier commits of a run a scan reads.
const maxEarlier = 1000

// scanEarlier reports the secrets in the commits that run commit c
// extends (Store.Extend): a push sends them with it, and they may hold a
// tag since removed or an artifact since replaced. Their output and
// source are the run's own, scanned already.
func (t *Tracker) scanEarlier(ctx context.Context, red *secret.Redactor, c string, add func(where, kind string)) error {
	for range maxEarlier {
		e, err := t.store.Earlier(ctx, c)
		if err != nil || e == "" {
			return err
		}
		prefix := "earlier commit " + e[:min(len(e), 12)] + ": "
		rec, err := t.store.RecordAt(ctx, e)
		if err != nil {
			return err
		}
		scanRecord(red, rec, func(where, kind string) { add(prefix+where, kind) })
		if err := t.scanArtifacts(ctx, red, e, prefix, add); err != nil {
			return err
		}
		c = e
	}
	return fmt.Errorf("more than %d of them", maxEarlier)
}

// scanRecord reports the secrets in the values of a record.
func scanRecord(red *secret.Redactor, rec *run.Record, add func(where, kind string)) {
	str := func(where, s string) {
		if f := red.Find(s); len(f) > 0 {
			add(where, f[0].Kind)
		}
	}
	str("name", rec.Name)
	str("experiment", rec.Experiment)
	for i, a := range rec.Command {
		str(fmt.Sprintf("command[%d]", i), a)
	}
	for _, k := range slices.Sorted(maps.Keys(rec.Env)) {
		str("env."+k, rec.Env[k])
	}
	h := rec.Host
	for _, f := range []struct{ where, v string }{
		{"host.hostname", h.Hostname}, {"host.user", h.User}, {"host.python_executable", h.PythonExecutable},
	} {
		str(f.where, f.v)
	}
	for _, k := range slices.Sorted(maps.Keys(rec.Params)) {
		switch v := rec.Params[k].(type) {
		case string:
			str("params."+k, v)
		case []any:
			for i, e := range v {
				if s, ok := e.(string); ok {
					str(fmt.Sprintf("params.%s[%d]", k, i), s)
				}
			}
		}
	}
	for _, k := range slices.Sorted(maps.Keys(rec.Tags)) {
		str("tags."+k, rec.Tags[k])
	}
}

// scanText reports the secrets in a file of a run, by line, unless it is
// not text.
func scanText(red *secret.Redactor, name string, b []byte, add func(where, kind string)) {
	if len(b) > scanLimit {
		b = b[:scanLimit]
	}
	if bytes.IndexByte(b[:min(len(b), 8<<10)], 0) >= 0 {
		return
	}
	line, at := 1, 0
	for _, f := range red.Find(string(b)) {
		line += bytes.Count(b[at:f.Start], []byte{'\n'})
		at = f.Start
		add(fmt.Sprintf("%s line %d", name, line), f.Kind)
	}
}

// scanSnapshot reports the secrets in the files of a run's snapshot that
// differ from its code commit, and those whose names say they hold
// secrets.
func scanSnapshot(code diff.Code, red *secret.Redactor, src run.Source, add func(where, kind string)) error {
	snap, err := code.CodeTree(src.Snapshot)
	if err != nil {
		return err
	}
	base := ""
	if src.Commit != "" {
		if base, err = code.CodeTree(src.Commit); err != nil {
			return err
		}
	}
	return walkChanged(code, snap, base, "", func(path, blob string) error {
		where := "snapshot: " + path
		if secret.IsSecretFile(path) {
			add(where, KindSecretFile)
			return nil
		}
		b, err := code.CodeBlob(blob)
		if err != nil {
			return err
		}
		scanText(red, where, b, add)
		return nil
	})
}

// walkChanged calls f for each file of tree that is not the same in base
// ("" for none), by path; subtrees the two share are not read.
func walkChanged(code diff.Code, tree, base, prefix string, f func(path, blob string) error) error {
	if tree == base {
		return nil
	}
	entries, err := code.CodeEntries(tree)
	if err != nil {
		return err
	}
	old := map[string]run.CodeEntry{}
	if base != "" {
		es, err := code.CodeEntries(base)
		if err != nil {
			return err
		}
		for _, e := range es {
			old[e.Name] = e
		}
	}
	for _, e := range entries {
		o, had := old[e.Name]
		if had && o.ID == e.ID && o.Mode == e.Mode {
			continue
		}
		path := prefix + e.Name
		switch {
		case e.Mode == 0o040000:
			sub := ""
			if had && o.Mode == 0o040000 {
				sub = o.ID
			}
			if err := walkChanged(code, e.ID, sub, path+"/", f); err != nil {
				return err
			}
		case e.Mode == 0o160000: // a submodule's commit: another repository's
		default:
			if err := f(path, e.ID); err != nil {
				return err
			}
		}
	}
	return nil
}

// FormatSecretFinding is how a finding reads in a message: "run 01jd…:
// GitHub token in output.log line 12".
func FormatSecretFinding(f SecretFinding) string {
	return fmt.Sprintf("run %s: %s in %s", f.Run, f.Kind, strings.TrimSpace(f.Where))
}
