package capture

import (
	"path/filepath"
	"strconv"
	"strings"

	"github.com/gitruns/gitruns/run"
	"github.com/gitruns/gitruns/run/codec"
	"github.com/gitruns/gitruns/run/secret"
)

// ArgParams reads the params of a run from the command that runs it; args
// is the whole command, args[0] being the program. It recognises:
//
//   - --name value, when the next argument does not start with "-" or is a
//     negative number ("-0.5", "-1e-3") or a lone "-";
//   - --name=value;
//   - a lone --name, followed by another flag or by nothing, as the bool
//     true;
//   - Hydra-style overrides among the positional arguments: key=value and
//     a.b.c=value, also written +key=value or ++key=value, where the key
//     is made of ASCII letters, digits and _ - . / and starts with a letter
//     or _; ~key (deletion) is ignored.
//
// The program, other positional arguments, and single-dash flags ("-m
// module", "-v", "-lr 0.1") are not params; an argument after a
// single-dash flag is judged on its own, so "-m pkg.train" records nothing
// and "-m lr=0.1" (Hydra multirun) records lr. After a bare "--" every
// argument is positional: flags there are not params, Hydra overrides
// still are.
//
// A key is the flag name without its leading dashes, spelled as written
// ("--api-key" gives "api-key", "--learning_rate" "learning_rate",
// "--model.lr" "model.lr"); keys that run.ValidateKey refuses are skipped.
// Values are typed by run.ParseValue ("8" is an int, "1e-3" a float,
// "adam" a string); a value the record cannot hold (a string over 64 KiB or
// not UTF-8) is skipped. When a flag is given twice the last one wins; when
// keys clash because one is a dotted prefix of the other ("--model resnet
// --model.depth 50"), the one given later wins too, so that the result can
// always be recorded.
//
// Flags of launchers count like any other: in "torchrun --nproc_per_node 2
// train.py --lr 1e-3" both nproc_per_node and lr are params. As launcher
// flags are often bools placed just before the script ("accelerate launch
// --multi_gpu train.py"), after torchrun, accelerate, deepspeed or python -m
// torch.distributed.run and until the script, a flag does not take as its
// value an argument ending in ".py", nor any argument when it is one of
// those launchers' known bool flags (standalone, multi_gpu, use_deepspeed,
// no_python, ...).
//
// Values that may be secrets are recorded as the string "[redacted]": the
// value of every flag or override whose key IsSecretFlag ("--api-key",
// "--token=..."), and any value in which red finds a secret, known or by
// its shape (a token, a URL with a password; red may be nil). A lone
// flag has no value to hide and stays true. red may be nil.
func ArgParams(args []string, red *secret.Redactor) map[string]any {
	out := make(map[string]any)
	walkArgs(args, func(a argParam) {
		addParam(out, a.key, a.value, a.hasValue, red)
	})
	return out
}

// ArgSecrets returns the values that args, a command as for ArgParams,
// gives to flags and overrides whose keys IsSecretFlag ("--api-key
// sk-...", "--token=...", "db.password=..."), so that they can be added to
// the Redactor that redacts the command's output, which may print them.
func ArgSecrets(args []string) []string {
	var out []string
	walkArgs(args, func(a argParam) {
		if a.hasValue && secret.IsSecretFlag(a.key) {
			out = append(out, a.value)
		}
	})
	return out
}

// RedactArgs returns a copy of args, a command as for ArgParams, fit to be
// recorded: the values of flags and overrides whose keys IsSecretFlag are
// replaced by secret.Redacted, whatever their length ("--password=[redacted]"),
// and every secret elsewhere, known to red or recognised by its shape, is
// redacted; red may be nil.
func RedactArgs(args []string, red *secret.Redactor) []string {
	out := make([]string, len(args))
	for i, a := range args {
		out[i] = red.Redact(a)
	}
	walkArgs(args, func(a argParam) {
		if !a.hasValue || !secret.IsSecretFlag(a.key) {
			return
		}
		if a.inline {
			eq := strings.IndexByte(args[a.index], '=')
			out[a.index] = args[a.index][:eq+1] + secret.Redacted
		} else {
			out[a.index] = secret.Redacted
		}
	})
	return out
}

// argParam is one param found in a command line.
type argParam struct {
	key, value string
	hasValue   bool // false for a lone flag
	index      int  // the argument holding the value, or the flag when it has none
	inline     bool // the value follows the first '=' of args[index]
}

// walkArgs calls f for each param of args, in order: see ArgParams.
func walkArgs(args []string, f func(argParam)) {
	if len(args) == 0 {
		return
	}
	launcher := isLauncher(args[0])
	afterDashes := false
	for i := 1; i < len(args); i++ {
		a := args[i]
		switch {
		case afterDashes:
		case a == "--":
			afterDashes = true
			continue
		case strings.HasPrefix(a, "--"):
			name, value, hasValue := strings.Cut(a[2:], "=")
			p := argParam{key: strings.TrimLeft(name, "-"), value: value, hasValue: hasValue, index: i, inline: hasValue}
			if !hasValue && i+1 < len(args) && isValue(args[i+1]) &&
				!(launcher && (launcherBools[strings.ReplaceAll(p.key, "-", "_")] || strings.HasSuffix(args[i+1], ".py"))) {
				i++
				p.value, p.hasValue, p.index = args[i], true, i
			}
			f(p)
			continue
		case len(a) > 1 && a[0] == '-' && !isNegativeNumber(a):
			continue // a short flag
		}
		if key, value, ok := hydraOverride(a); ok {
			f(argParam{key: key, value: value, hasValue: true, index: i, inline: true})
			continue
		}
		if afterDashes {
			continue
		}
		// A positional argument that is not an override is a program,
		// a subcommand or a file: it starts or ends a launcher's flags.
		switch {
		case isLauncher(a):
			launcher = true
		case launcher && a == "launch": // accelerate launch
		default:
			launcher = false
		}
	}
}

// isValue reports whether the argument after a --flag is its value rather
// than another flag.
func isValue(next string) bool {
	if _, _, ok := hydraOverride(next); ok {
		return false // --use-bn optimizer.lr=0.1: a lone flag, then an override
	}
	return next == "-" || !strings.HasPrefix(next, "-") || isNegativeNumber(next)
}

// isNegativeNumber reports whether s is a number with a minus sign, which
// is a value even though it starts with a dash.
func isNegativeNumber(s string) bool {
	if len(s) < 2 || s[0] != '-' || !(isDigit(s[1]) || s[1] == '.') {
		return false
	}
	_, err := strconv.ParseFloat(s, 64)
	return err == nil && !strings.ContainsAny(s, "xX_")
}

// isLauncher reports whether a program or module runs a script given
// after its own flags.
func isLauncher(arg string) bool {
	switch filepath.Base(arg) {
	case "torchrun", "accelerate", "deepspeed", "torch.distributed.run", "torch.distributed.launch":
		return true
	}
	return false
}

// launcherBools are the bool flags of torchrun, accelerate launch and
// deepspeed, with dashes written as underscores: a value cannot be told
// from the script name that follows them otherwise.
var launcherBools = map[string]bool{
	// torchrun
	"standalone": true, "no_python": true, "run_path": true, "module": true,
	"virtual_local_rank": true,
	// accelerate launch
	"cpu": true, "multi_gpu": true, "tpu": true, "ipex": true, "use_deepspeed": true,
	"use_fsdp": true, "use_megatron_lm": true, "use_xpu": true, "debug": true,
	"quiet": true, "dynamo_use_fullgraph": true, "dynamo_use_dynamic": true,
	"same_network": true, "enable_cpu_affinity": true,
	// deepspeed
	"no_local_rank": true, "no_ssh_check": true, "force_multi": true,
	"bind_cores_to_rank": true, "elastic_training": true, "save_pid": true,
}

// hydraOverride splits a positional argument of the form key=value,
// +key=value or ++key=value.
func hydraOverride(a string) (key, value string, ok bool) {
	a = strings.TrimPrefix(a, "+")
	a = strings.TrimPrefix(a, "+")
	key, value, ok = strings.Cut(a, "=")
	if !ok || key == "" || !(isLetter(key[0]) || key[0] == '_') {
		return "", "", false
	}
	for i := 0; i < len(key); i++ {
		if !isKeyByte(key[i]) {
			return "", "", false
		}
	}
	return key, value, true
}

// addParam records one param in out, typed and redacted, unless its key is
// invalid or its value cannot be recorded.
func addParam(out map[string]any, key, value string, hasValue bool, red *secret.Redactor) {
	if run.ValidateKey("param", key) != nil {
		return
	}
	var v any = true
	if hasValue {
		if secret.IsSecretFlag(key) || red.Contains(value) {
			v = secret.Redacted
		} else {
			v = codec.ParseValue(value)
		}
	}
	v, err := run.NormalizeParam(key, v)
	if err != nil {
		return
	}
	// run.toml cannot hold both a value and a table under one name.
	for k := range out {
		if strings.HasPrefix(k, key+".") || strings.HasPrefix(key, k+".") {
			delete(out, k)
		}
	}
	out[key] = v
}
