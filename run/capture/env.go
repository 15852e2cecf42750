package capture

import (
	"strings"

	"github.com/gitruns/gitruns/run/secret"
)

// reproEnv names the variables that change what a training command
// computes or which software it runs with, and so are worth recording.
var reproEnv = []string{
	"CUDA_VISIBLE_DEVICES", "OMP_NUM_THREADS", "MKL_NUM_THREADS",
	"PYTHONHASHSEED", "VIRTUAL_ENV", "CONDA_DEFAULT_ENV", "CONDA_PREFIX",
	"CUBLAS_WORKSPACE_CONFIG", "TF_DETERMINISTIC_OPS", "PYTORCH_CUDA_ALLOC_CONF",
}

// SelectEnv returns the variables of environ ("NAME=value" entries, as from
// os.Environ) that matter for reproducing a run, by name, when they are set
// (even to ""): CUDA_VISIBLE_DEVICES, OMP_NUM_THREADS, MKL_NUM_THREADS,
// PYTHONHASHSEED, VIRTUAL_ENV, CONDA_DEFAULT_ENV, CONDA_PREFIX,
// CUBLAS_WORKSPACE_CONFIG, TF_DETERMINISTIC_OPS, PYTORCH_CUDA_ALLOC_CONF, and
// those named in extra. A variable whose name IsSecretName is never
// included, even when extra names it, and values are redacted with
// secret.NewRedactor(environ), as a harmless variable may still hold a secret (a
// URL with a password in it, say). When a name is set several times, the
// last setting counts, as it does for programs.
func SelectEnv(environ []string, extra []string) map[string]string {
	want := make(map[string]bool, len(reproEnv)+len(extra))
	for _, name := range reproEnv {
		want[name] = true
	}
	for _, name := range extra {
		want[name] = true
	}
	out := make(map[string]string)
	var red *secret.Redactor
	for _, kv := range environ {
		name, value, ok := strings.Cut(kv, "=")
		if !ok || !want[name] || secret.IsSecretName(name) {
			continue
		}
		if red == nil {
			red = secret.NewRedactor(environ)
		}
		out[name] = red.Redact(value)
	}
	return out
}
