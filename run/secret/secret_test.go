package secret

import (
	"strings"
	"testing"
)

func TestIsSecretName(t *testing.T) {
	for name, want := range map[string]bool{
		"OPENAI_API_KEY": true, "HF_TOKEN": true, "aws_secret_access_key": true,
		"PGPASSWORD": true, "DB_PASSWD": true, "GOOGLE_APPLICATION_CREDENTIALS": true,
		"auth": true, "COOKIE_JAR": true, "session_id": true, "SSH_PRIVATE": true,
		"api-key": true, "MONKEY": true,
		"PATH": false, "HOME": false, "CUDA_VISIBLE_DEVICES": false, "lr": false, "": false,
	} {
		if got := IsSecretName(name); got != want {
			t.Errorf("IsSecretName(%q) = %v", name, got)
		}
	}
}

func TestRedact(t *testing.T) {
	r := NewRedactor([]string{
		"HF_TOKEN=hf_abcdefghij",
		"SHORT_KEY=abc12",       // too short
		"PATH=/usr/bin:/bin",    // not secret
		"INNER_SECRET=abcdefgh", // inside OUTER
		"OUTER_SECRET=xxabcdefghyy",
		"OVERLAP_A_KEY=123456789",
		"OVERLAP_B_KEY=6789ABCDEF",
		"XDG_SESSION_DESKTOP=ubuntu",
		"BAD ENTRY",
		"=C:=C:\\weird",
	})
	tests := []struct{ in, want string }{
		{"", ""},
		{"nothing here", "nothing here"},
		{"token hf_abcdefghij!", "token [redacted]!"},
		{"hf_abcdefghijhf_abcdefghij", "[redacted][redacted]"},
		{"abc12 stays", "abc12 stays"},
		{"/usr/bin:/bin", "/usr/bin:/bin"},
		{"in xxabcdefghyy out", "in [redacted] out"},
		{"just abcdefgh", "just [redacted]"},
		{"123456789ABCDEF", "[redacted]"},
		{"/home/ubuntu/data", "/home/ubuntu/data"},
	}
	for _, tt := range tests {
		if got := r.Redact(tt.in); got != tt.want {
			t.Errorf("Redact(%q) = %q, want %q", tt.in, got, tt.want)
		}
		if got := string(r.RedactBytes([]byte(tt.in))); got != tt.want {
			t.Errorf("RedactBytes(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestRedactAdd(t *testing.T) {
	var r Redactor
	r.Add("short", "-----BEGIN KEY-----\nMIIEabcdefgh\r\nend\n")
	if got := r.Redact("x MIIEabcdefgh -----BEGIN KEY----- end short"); got != "x [redacted] [redacted] end short" {
		t.Errorf("got %q", got)
	}
	var nilR *Redactor
	if got := nilR.Redact("abc"); got != "abc" {
		t.Errorf("nil redactor: %q", got)
	}
}

func TestRedactNoAllocs(t *testing.T) {
	env := []string{}
	for i := 0; i < 50; i++ {
		env = append(env, "SECRET_"+strings.Repeat("x", i%3)+"="+strings.Repeat(string(rune('a'+i%26)), 8+i))
	}
	r := NewRedactor(env)
	line := "epoch 3 step 1200 loss=0.3124 acc=0.912 from /data/train in 3.2s"
	b := []byte(line)
	if n := testing.AllocsPerRun(100, func() {
		r.Redact(line)
		r.RedactBytes(b)
	}); n != 0 {
		t.Errorf("%v allocations", n)
	}
}

func BenchmarkRedactLine(b *testing.B) {
	env := []string{}
	for i := 0; i < 50; i++ {
		env = append(env, "SECRET_"+string(rune('A'+i%26))+"="+strings.Repeat(string(rune('a'+i%26)), 8+i))
	}
	r := NewRedactor(env)
	line := []byte("epoch 3 step 1200 loss=0.3124 acc=0.912 from /data/train in 3.2s")
	for b.Loop() {
		r.RedactBytes(line)
	}
}

func TestIsSecretFlag(t *testing.T) {
	for name, want := range map[string]bool{
		"api-key": true, "api_key": true, "apiKey": true, "APIKEY": true, "hf_token": true, "token": true,
		"db.password": true, "passwd": true, "client-secret": true, "aws_secrets": true, "oauth": true,
		"use-auth": true, "session": true, "cookie": true, "private": true, "gcp-credentials": true,
		"max-tokens": false, "max_new_tokens": false, "tokenizer": false, "tokenizer_name": false,
		"num_keypoints": false, "keyframe": false, "author": false, "sessions": false, "lr": false,
		"maxTokens": false, "private_dataset_path": true, // on the safe side
	} {
		if got := IsSecretFlag(name); got != want {
			t.Errorf("IsSecretFlag(%q) = %v, want %v", name, got, want)
		}
	}
}
