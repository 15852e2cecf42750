package gitstore

import (
	"cmp"
	"context"
	"os"
	"os/user"
	"strings"
	"sync"
	"time"

	"github.com/gitruns/gitruns/run"
	"github.com/go-git/go-git/v5/plumbing/object"
)

// gitVars are what `git var -l` tells of the repository: the identities
// git would write into a commit now and every config value, resolved as
// git resolves them (include, includeIf, per-worktree config, the
// environment's GIT_CONFIG_* variables). Asking git once per Repo is
// cheaper and truer than reading config files ourselves.
type gitVars struct {
	author, committer ident
	config            map[string]string // by lower-case key; the last value of a multi-valued key
}

// ident is a name and an email address.
type ident struct{ name, email string }

// varsState runs `git var -l` once, in the background from the first
// call of startVars, so that a run's start pays for it beside its work
// tree snapshot rather than after it.
type varsState struct {
	once sync.Once
	done chan struct{}
	v    gitVars
}

// startVars starts asking git for its variables, if nobody did yet.
func (r *Repo) startVars() {
	r.vars.once.Do(func() {
		r.vars.done = make(chan struct{})
		go func() {
			defer close(r.vars.done)
			r.vars.v = r.loadVars()
		}()
	})
}

// gitVars returns git's variables, waiting for them.
func (r *Repo) gitVars() *gitVars {
	r.startVars()
	<-r.vars.done
	return &r.vars.v
}

func (r *Repo) loadVars() gitVars {
	v := gitVars{config: map[string]string{}}
	// Without git, or too old a one, this fails and the defaults below
	// stand in.
	out, _ := runGit(context.Background(), r.gitCwd(), r.gitEnv(), nil, "var", "-l")
	for _, line := range strings.Split(string(out), "\n") {
		k, val, ok := strings.Cut(line, "=")
		switch {
		case !ok:
		case k == "GIT_AUTHOR_IDENT":
			v.author = parseIdent(val)
		case k == "GIT_COMMITTER_IDENT":
			v.committer = parseIdent(val)
		case strings.Contains(k, "."):
			v.config[strings.ToLower(k)] = val
		}
	}
	// Without git, or where it cannot tell, the environment and the login
	// name stand in, as git's own defaults do.
	v.author = v.author.or("GIT_AUTHOR_NAME", "GIT_AUTHOR_EMAIL")
	v.committer = v.committer.or("GIT_COMMITTER_NAME", "GIT_COMMITTER_EMAIL")
	return v
}

// parseIdent reads "Name <email> 1700000000 +0000". An email that git
// made up and would refuse to commit with ("root@host.(none)": nothing
// configured and no domain found) is left out, for the caller's default.
func parseIdent(s string) ident {
	lt, gt := strings.IndexByte(s, '<'), strings.LastIndexByte(s, '>')
	if lt < 0 || gt < lt {
		return ident{}
	}
	id := ident{name: strings.TrimSpace(s[:lt]), email: s[lt+1 : gt]}
	if strings.HasSuffix(id.email, ".(none)") {
		id.email = ""
	}
	return id
}

// or fills in what id lacks from the named variables, else from the login
// name and host.
func (id ident) or(nameVar, emailVar string) ident {
	login := os.Getenv("USER")
	if login == "" {
		if u, err := user.Current(); err == nil {
			login = u.Username
		}
	}
	if login == "" {
		login = "unknown"
	}
	if id.name == "" {
		id.name = cmp.Or(os.Getenv(nameVar), login)
	}
	if id.email == "" {
		host, _ := os.Hostname()
		id.email = cmp.Or(os.Getenv(emailVar), login+"@"+cmp.Or(host, "localhost"))
	}
	return id
}

// Identity returns the name and email git would put in a commit's author
// line now (git var GIT_AUTHOR_IDENT).
func (r *Repo) Identity() (name, email string) {
	a := r.gitVars().author
	return a.name, a.email
}

// config returns the value git resolves for key ("gc.auto"), and whether
// it is set.
func (r *Repo) config(key string) (string, bool) {
	v, ok := r.gitVars().config[strings.ToLower(key)]
	return v, ok
}

// Author names who records a run started now: git's author identity.
func (r *Repo) Author() run.Person {
	a := r.gitVars().author
	return run.Person{Name: a.name, Email: a.email}
}

// signatures returns the author and committer of a commit written now
// for something that began at start.
func (r *Repo) signatures(start time.Time) (author, committer object.Signature) {
	v := r.gitVars()
	return object.Signature{Name: v.author.name, Email: v.author.email, When: start},
		object.Signature{Name: v.committer.name, Email: v.committer.email, When: time.Now()}
}

// runSignatures returns the author and committer of a commit of a run
// that began at start: who ran it, as its recorder said, without asking
// git again, or else as git says now.
func (r *Repo) runSignatures(p run.Person, start time.Time) (author, committer object.Signature) {
	if p.Name == "" || p.Email == "" {
		return r.signatures(start)
	}
	return object.Signature{Name: p.Name, Email: p.Email, When: start},
		object.Signature{Name: p.Name, Email: p.Email, When: time.Now()}
}
