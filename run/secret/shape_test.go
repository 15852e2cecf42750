package secret

import (
	"strings"
	"testing"

	"github.com/gitruns/gitruns/internal/secretcorpus"
)

func TestFindShapesCorpus(t *testing.T) {
	for _, s := range secretcorpus.All() {
		for _, line := range []string{
			s.Line,
			"INFO using " + s.Line + " now",
			`{"x": "` + s.Line + `", "y": 1}`,
			"prefix\t" + s.Line + "\n",
		} {
			got := (*Redactor)(nil).Redact(line)
			if strings.Contains(got, s.Value) {
				t.Errorf("%s: Redact(%q) = %q, keeps the secret", s.Kind, line, got)
			}
			f := FindShapes(line)
			if len(f) == 0 {
				t.Errorf("%s: FindShapes(%q) found nothing", s.Kind, line)
				continue
			}
			if f[0].Kind != s.Kind {
				t.Errorf("%s: FindShapes(%q) says %q", s.Kind, line, f[0].Kind)
			}
		}
		if s.Alone {
			if got := FindShapes(s.Line); len(got) == 0 {
				t.Errorf("%s: %q alone not found", s.Kind, s.Line)
			}
		}
	}
}

func TestFindShapesPrivateKey(t *testing.T) {
	pem, body := secretcorpus.PrivateKey()
	for _, text := range []string{
		pem,
		"key follows\n" + pem + "done\n",
		`{"private_key": "` + strings.ReplaceAll(pem, "\n", `\n`) + `", "client_email": "x@y"}`,
	} {
		got := (*Redactor)(nil).Redact(text)
		for _, l := range body {
			if strings.Contains(got, l) {
				t.Fatalf("Redact keeps %q:\n%s", l, got)
			}
		}
		if !strings.Contains(got, Redacted) {
			t.Errorf("no %s in %q", Redacted, got)
		}
	}
	if got := (*Redactor)(nil).Redact("a\n" + pem + "after\n"); got != "a\n[redacted]\nafter\n" {
		t.Errorf("got %q", got)
	}
}

// Ordinary output of training programs holds no secret: none of it may be
// redacted.
func TestFindShapesNotSecrets(t *testing.T) {
	for _, line := range []string{
		"epoch 3 step 1200 loss=0.3124 acc=0.912 from /data/train in 3.2s",
		"{'loss': 0.31, 'learning_rate': 5e-05, 'epoch': 0.5}",
		"32/32 [==============================] - 1s 5ms/step - loss: 0.3124 - accuracy: 0.9120",
		"commit 3f2a9c1e5b7d4a6f8e0c2b4d6f8a0c2e4b6d8f0a",
		"source.commit = \"3f2a9c1e5b7d4a6f8e0c2b4d6f8a0c2e4b6d8f0a\"",
		"run 01jdm3x4k2t7z9q8r5w6y4v3b2 id=123e4567-e89b-12d3-a456-426614174000",
		"uuid: 123e4567-e89b-12d3-a456-426614174000",
		"loading /home/ada/.cache/huggingface/hub/models--bert-base-uncased/snapshots/86b5e0934494bd15c9632b12f734a8a67f723594/config.json",
		"model: sentence-transformers/all-MiniLM-L6-v2 tokenizer: bert-base-uncased",
		"Downloading model.safetensors: 100% 440M/440M",
		"sk-learn style estimator: sklearn.ensemble.RandomForestClassifier",
		"task-specific-head-for-classification loaded",
		"max_tokens=4096 num_tokens: 123456 tokens_per_sec=9876.5",
		"eos_token: </s> pad_token=[PAD] bos_token = <s>",
		"sort_key: val_loss_epoch10 key=image cache_key=train_split",
		"password: null",
		"password=${DB_PASSWORD} token: <your-token-here> secret: ********",
		"api_key=[redacted]",
		"https://huggingface.co/bert-base-uncased/resolve/main/config.json",
		"http://localhost:8080/ git@github.com:ada/proj.git ssh://git@host/repo",
		"Namespace(lr=0.01, batch_size=32, seed=42)",
		"ETA: 00:12 time 10:30:15 std::vector<int> a==b a!=b a<=b",
		"TOKENIZERS_PARALLELISM=false AUTHOR=ada",
		"ACCURACY 0.91 AUC 0.88 ADAM beta1=0.9",
		"model checkpoint dGhpcyBpcyBhIG1vZGVs.bin saved to ckpt/",
		"eyJ is how base64 JSON starts; heyJude",
		"-----BEGIN CERTIFICATE-----",
		"xoxo-bye glpat hf_hub_download npm_config_cache ghp_ sk_",
		"wandb: Syncing run brave-otter-42 session: 3 private: false",
	} {
		if f := FindShapes(line); len(f) > 0 {
			t.Errorf("FindShapes(%q) = %v: %q", line, f, line[f[0].Start:f[0].End])
		}
	}
}

func TestStreamPrivateKeyAcrossParts(t *testing.T) {
	pem, body := secretcorpus.PrivateKey()
	text := "start\n" + pem + "loss=0.5\n"
	lines := strings.SplitAfter(text, "\n")
	s := (*Redactor)(nil).NewStream()
	var got strings.Builder
	for _, l := range lines {
		got.Write(s.Redact([]byte(l)))
	}
	if got.String() != "start\n[redacted]\nloss=0.5\n" {
		t.Errorf("got %q", got.String())
	}
	for _, l := range body {
		if strings.Contains(got.String(), l) {
			t.Errorf("keeps %q", l)
		}
	}
	// A BEGIN line with no key after it hides one line only.
	s = (*Redactor)(nil).NewStream()
	out := string(s.Redact([]byte("-----BEGIN PRIVATE KEY-----\n"))) + string(s.Redact([]byte("epoch 1 loss=0.3 and more words\n")))
	if out != "[redacted]epoch 1 loss=0.3 and more words\n" {
		t.Errorf("got %q", out)
	}
}

func TestSafeCut(t *testing.T) {
	tok := secretcorpus.All()[2].Value // ghp_...
	for _, tt := range []struct {
		text string
		cut  int
	}{
		{"xxxx " + tok, 10},
		{"some text password: hunter22", 22},
		{"some text password: hunter22", 14},
		{"go https://ada:pw123456@host/x", 20},
	} {
		c := (*Redactor)(nil).SafeCut([]byte(tt.text), tt.cut)
		a, b := (*Redactor)(nil).Redact(tt.text[:c]), (*Redactor)(nil).Redact(tt.text[c:])
		if whole := (*Redactor)(nil).Redact(tt.text); a+b != whole {
			t.Errorf("SafeCut(%q, %d) = %d: %q + %q, want %q", tt.text, tt.cut, c, a, b, whole)
		}
	}
}

func BenchmarkScanOutput(b *testing.B) {
	var sb strings.Builder
	for i := 0; sb.Len() < 1<<20; i++ {
		if i%5 == 0 {
			sb.WriteString("step 12 loss=0.123456\n")
		} else {
			sb.WriteString("Loaded batch 123 of 50000 images from /data/train in 3.2s\n")
		}
	}
	text := []byte(sb.String())
	s := (*Redactor)(nil).NewStream()
	b.SetBytes(int64(len(text)))
	for b.Loop() {
		s.Redact(text)
	}
}

func BenchmarkScanDenseOutput(b *testing.B) {
	var sb strings.Builder
	for sb.Len() < 1<<20 {
		sb.WriteString("{'loss': 0.31, 'grad_norm': 1.25, 'learning_rate': 5e-05, 'epoch': 0.5}\n")
		sb.WriteString("32/32 [==============================] - 1s 5ms/step - loss: 0.3124 - val_accuracy: 0.9120\n")
	}
	text := []byte(sb.String())
	s := (*Redactor)(nil).NewStream()
	b.SetBytes(int64(len(text)))
	for b.Loop() {
		s.Redact(text)
	}
}

func TestIsSecretFile(t *testing.T) {
	for p, want := range map[string]bool{
		".env": true, "config/.env": true, ".env.local": true, ".env.production": true, ".envrc": true,
		"id_rsa": true, "keys/id_ed25519": true, "id_ecdsa.pub": true, "server.pem": true, "tls/server.key": true,
		"cert.p12": true, "x.pfx": true, "vault.kdbx": true, "credentials.json": true, "CREDENTIALS.JSON": true,
		".netrc": true, ".npmrc": true, ".pypirc": true, ".git-credentials": true, "home/.aws/credentials": true,
		".docker/config.json": true, "gcloud/application_default_credentials.json": true,
		"client_secret_1234.apps.googleusercontent.com.json": true, "infra/terraform.tfstate": true,
		".env.example": false, ".env.sample": false, "train.py": false, "config.json": false, "keys.py": false,
		"data/credentials.py": false, "aws/config": false, "docker/config.json": false, "README.md": false,
		"environment.yml": false, "tokenizer.json": false, "model.safetensors": false, "notes.txt": false,
	} {
		if got := IsSecretFile(p); got != want {
			t.Errorf("IsSecretFile(%q) = %v", p, got)
		}
	}
}
