package capture

import (
	"strings"
	"testing"

	"github.com/gitruns/gitruns/run/secret"
)

func TestSelectEnv(t *testing.T) {
	env := []string{
		"CUDA_VISIBLE_DEVICES=0,1",
		"OMP_NUM_THREADS=4",
		"OMP_NUM_THREADS=8", // the last setting counts
		"PYTHONHASHSEED=",
		"PATH=/usr/bin",
		"HF_TOKEN=hf_secretvalue",
		"MY_SETTING=uses hf_secretvalue inside",
		"WANDB_API_KEY=0123456789",
		"WANDB_MODE=offline",
	}
	got := SelectEnv(env, []string{"MY_SETTING", "WANDB_API_KEY", "WANDB_MODE", "UNSET"})
	want := map[string]string{
		"CUDA_VISIBLE_DEVICES": "0,1",
		"OMP_NUM_THREADS":      "8",
		"PYTHONHASHSEED":       "",
		"MY_SETTING":           "uses [redacted] inside",
		"WANDB_MODE":           "offline",
	}
	if len(got) != len(want) {
		t.Errorf("got %v, want %v", got, want)
	}
	for k, v := range want {
		if g, ok := got[k]; !ok || g != v {
			t.Errorf("%s = %q, %v; want %q", k, g, ok, v)
		}
	}
}

func FuzzRedact(f *testing.F) {
	secrets := []string{"abcabcab", "cabcabca", "bcab12", "xyzxyzxyzxyz", "zxyzxy"}
	r := secret.NewRedactor(nil)
	r.Add(secrets...)
	f.Add("abcabcabcabca bcab12 zxyzxyzxyzxyz")
	f.Fuzz(func(t *testing.T, s string) {
		out := r.Redact(s)
		for _, sec := range secrets {
			if strings.Contains(out, sec) {
				t.Errorf("Redact(%q) = %q holds %q", s, out, sec)
			}
		}
		if string(r.RedactBytes([]byte(s))) != out {
			t.Errorf("RedactBytes differs from Redact for %q", s)
		}
	})
}
