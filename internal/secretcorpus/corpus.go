// Package secretcorpus makes the fake secrets that tests of git-runs feed
// to its redaction: one or more of every family run/secret recognises.
// They are generated from a fixed seed rather than written in the source,
// so that no secret scanner takes this repository for a leak, and are the
// same in every run.
package secretcorpus

import (
	"encoding/base64"
	"math/rand/v2"
	"strings"
)

// A Secret is one fake secret and a line of text that holds it.
type Secret struct {
	Kind string // the family, as secret.Finding.Kind names it
	// Value is the part that must never be written into a run.
	Value string
	// Line is Value in the context it is recognised by: Value itself for
	// the token families, "password: VALUE" for assigned ones.
	Line string
	// Alone tells that Line is recognised on its own, as when it is
	// passed as a flag of any name.
	Alone bool
}

const (
	alnum  = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
	upper  = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"
	b64url = alnum + "-_"
	hexd   = "0123456789abcdef"
	letter = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
)

// All returns the corpus: the same secrets, in the same order, each time.
func All() []Secret {
	rng := rand.New(rand.NewPCG(10, 2026))
	r := func(set string, n int) string {
		var b strings.Builder
		for i := 0; i < n; i++ {
			b.WriteByte(set[rng.IntN(len(set))])
		}
		// At least one digit and both cases where the set has them, as
		// real tokens of that length have.
		s := b.String()
		if strings.ContainsAny(set, "0123456789") && !strings.ContainsAny(s, "0123456789") {
			s = s[:n-1] + "7"
		}
		return s
	}
	alone := func(kind, v string) Secret { return Secret{Kind: kind, Value: v, Line: v, Alone: true} }
	jwt := func() string {
		h := base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"HS256","typ":"JWT"}`))
		p := base64.RawURLEncoding.EncodeToString([]byte(`{"sub":"` + r(alnum, 12) + `","iat":1700000000}`))
		return h + "." + p + "." + r(b64url, 43)
	}
	var out []Secret
	out = append(out,
		alone("AWS access key", "AKIA"+r(upper, 16)),
		alone("AWS access key", "ASIA"+r(upper, 16)),
		alone("GitHub token", "ghp_"+r(alnum, 36)),
		alone("GitHub token", "gho_"+r(alnum, 36)),
		alone("GitHub token", "ghs_"+r(alnum, 36)),
		alone("GitHub token", "github_pat_"+r(alnum, 22)+"_"+r(alnum, 59)),
		alone("OpenAI key", "sk-"+r(alnum, 48)),
		alone("OpenAI key", "sk-proj-"+r(b64url, 56)),
		alone("Anthropic key", "sk-ant-api03-"+r(b64url, 93)+"AA"),
		alone("Hugging Face token", "hf_"+r(letter, 30)+r(alnum, 4)),
		alone("Hugging Face token", "hf_"+r(alnum, 34)),
		alone("Slack token", "xoxb-"+r("0123456789", 12)+"-"+r("0123456789", 13)+"-"+r(alnum, 24)),
		alone("Slack token", "xoxp-"+r("0123456789", 12)+"-"+r("0123456789", 12)+"-"+r("0123456789", 13)+"-"+r(hexd, 32)),
		alone("JSON Web Token", jwt()),
		alone("JSON Web Token", jwt()),
		alone("Google API key", "AIza"+r(b64url, 35)),
		alone("Stripe key", "sk_live_"+r(alnum, 24)),
		alone("Stripe key", "rk_live_"+r(alnum, 24)),
		alone("GitLab token", "glpat-"+r(b64url, 20)),
		alone("npm token", "npm_"+r(alnum, 36)),
	)
	for _, u := range []struct{ scheme, user, host string }{
		{"https", "ada", "example.com/repo.git"},
		{"postgres", "admin", "db.internal:5432/runs"},
		{"redis", "default", "cache:6379/0"},
	} {
		pw := r(alnum, 14)
		out = append(out, Secret{Kind: "password in URL", Value: pw, Line: u.scheme + "://" + u.user + ":" + pw + "@" + u.host, Alone: true})
	}
	sig := r(alnum, 30) + "%2B" + r(alnum, 10) + "%3D"
	out = append(out, Secret{Kind: "Azure SAS signature", Value: sig, Alone: true,
		Line: "https://acct.blob.core.windows.net/data/x.bin?sv=2022-11-02&se=2030-01-01&sp=r&sig=" + sig})
	for _, a := range []struct{ before, value, after string }{
		{"password: ", "987654", ""},
		{"DB_PASSWORD=", r(alnum, 12), ""},
		{"api_key=", r(hexd, 40), ""},
		{`{"token": "`, r(alnum, 32), `"}`},
		{"client_secret = '", r(b64url, 28), "'"},
		{"Authorization: Bearer ", r(alnum, 40), ""},
		{"aws_secret_access_key = ", r(alnum, 30) + "/" + r(alnum, 9), ""},
		{"wandb: api key=", r(hexd, 40), ""},
		{"'secret': '", r(alnum, 9), "'"},
	} {
		out = append(out, Secret{Kind: "value of a secret-named key", Value: a.value, Line: a.before + a.value + a.after})
	}
	return out
}

// PrivateKey returns a fake PEM private key, and the lines of its body,
// each of which must never be written into a run.
func PrivateKey() (pem string, body []string) {
	rng := rand.New(rand.NewPCG(7, 2026))
	raw := make([]byte, 600)
	for i := range raw {
		raw[i] = byte(rng.IntN(256))
	}
	enc := base64.StdEncoding.EncodeToString(raw)
	var b strings.Builder
	b.WriteString("-----BEGIN RSA PRIVATE KEY-----\n")
	for len(enc) > 0 {
		n := min(64, len(enc))
		body = append(body, enc[:n])
		b.WriteString(enc[:n] + "\n")
		enc = enc[n:]
	}
	b.WriteString("-----END RSA PRIVATE KEY-----\n")
	return b.String(), body
}
