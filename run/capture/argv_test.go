package capture

import (
	"fmt"
	"reflect"
	"strings"
	"testing"

	"github.com/gitruns/gitruns/run/secret"
)

func TestArgParams(t *testing.T) {
	red := secret.NewRedactor([]string{"WANDB_API_KEY=0123456789abcdef", "HF_TOKEN=hf_XyZ123456"})
	tests := []struct {
		name string
		cmd  string // split on spaces
		want map[string]any
	}{
		{"argparse", "python train.py --lr 0.01 --batch-size 32 --optimizer adam --amp",
			map[string]any{"lr": 0.01, "batch-size": int64(32), "optimizer": "adam", "amp": true}},
		{"equals", "python3 train.py --lr=1e-3 --epochs=10 --name=run1",
			map[string]any{"lr": 0.001, "epochs": int64(10), "name": "run1"}},
		{"negative", "python train.py --shift -0.5 --offset -3 --eps -1e-8",
			map[string]any{"shift": -0.5, "offset": int64(-3), "eps": -1e-8}},
		{"flag before flag", "python train.py --verbose --lr 0.1 --fp16",
			map[string]any{"verbose": true, "lr": 0.1, "fp16": true}},
		{"bool value", "python train.py --shuffle false --pin true",
			map[string]any{"shuffle": false, "pin": true}},
		{"module", "python -m pkg.train --lr 1",
			map[string]any{"lr": int64(1)}},
		{"python version", "python3.11 -u train.py --seed 42",
			map[string]any{"seed": int64(42)}},
		{"uv", "uv run python train.py --lr 0.01",
			map[string]any{"lr": 0.01}},
		{"click", "train --learning-rate 0.001 --no-cuda --data-dir ./data",
			map[string]any{"learning-rate": 0.001, "no-cuda": true, "data-dir": "./data"}},
		{"hydra", "python train.py model=resnet50 optimizer.lr=0.1 +trainer.precision=16 ++seed=1 ~logger -m",
			map[string]any{"model": "resnet50", "optimizer.lr": 0.1, "trainer.precision": int64(16), "seed": int64(1)}},
		{"lone flag before override", "python train.py --use-bn optimizer.lr=0.001",
			map[string]any{"use-bn": true, "optimizer.lr": 0.001}},
		{"hydra group", "python train.py hydra/launcher=joblib db=mysql layers=[64,32]",
			map[string]any{"hydra/launcher": "joblib", "db": "mysql", "layers": []any{int64(64), int64(32)}}},
		{"hydra multirun", "python train.py -m lr=0.1,0.01",
			map[string]any{"lr": "0.1,0.01"}},
		{"fairseq", "fairseq-train data-bin/wmt --arch transformer --lr 5e-4 --max-tokens 4096 --dropout 0.3 --fp16",
			map[string]any{"arch": "transformer", "lr": 0.0005, "max-tokens": int64(4096), "dropout": 0.3, "fp16": true}},
		{"hf", "python run_glue.py --model_name_or_path bert-base-cased --per_device_train_batch_size 8 --learning_rate 2e-5 --do_train --output_dir /tmp/out",
			map[string]any{"model_name_or_path": "bert-base-cased", "per_device_train_batch_size": int64(8), "learning_rate": 2e-5, "do_train": true, "output_dir": "/tmp/out"}},
		{"torchrun", "torchrun --nproc_per_node 2 train.py --lr 1e-3",
			map[string]any{"nproc_per_node": int64(2), "lr": 0.001}},
		{"torchrun standalone", "torchrun --nnodes=1 --standalone train.py --standalone 5",
			map[string]any{"nnodes": int64(1), "standalone": int64(5)}},
		{"accelerate", "accelerate launch --num_processes 2 --multi_gpu train.py --lr 0.1",
			map[string]any{"num_processes": int64(2), "multi_gpu": true, "lr": 0.1}},
		{"launcher unknown bool", "uv run torchrun --some-bool train.py --cfg model.py",
			map[string]any{"some-bool": true, "cfg": "model.py"}},
		{"torch.distributed.run", "python -m torch.distributed.run --nproc-per-node=4 --no-python train.sh --x 1",
			map[string]any{"nproc-per-node": int64(4), "no-python": true, "x": int64(1)}},
		{"repeated", "python train.py --lr 0.1 --lr 0.2",
			map[string]any{"lr": 0.2}},
		{"table clash", "python main.py fit --model MyModel --model.lr 0.1 --trainer.max_epochs=3",
			map[string]any{"model.lr": 0.1, "trainer.max_epochs": int64(3)}},
		{"double dash", "python train.py --lr 0.1 -- --epochs 3 depth=4 file.txt",
			map[string]any{"lr": 0.1, "depth": int64(4)}},
		{"stdin value", "python train.py --input - --n 2",
			map[string]any{"input": "-", "n": int64(2)}},
		{"invalid keys", "python train.py --a..b 1 --.x 2 --=3 ok=1",
			map[string]any{"ok": int64(1)}},
		{"quoted string value", `python train.py --tag "10"`,
			map[string]any{"tag": "10"}},
		{"secret flag", "python train.py --api-key sk-abcdef123 --lr 0.1",
			map[string]any{"api-key": secret.Redacted, "lr": 0.1}},
		{"secret equals", "python train.py --token=hf_XyZ123456 --hub_token=abc",
			map[string]any{"token": secret.Redacted, "hub_token": secret.Redacted}},
		{"env secret under harmless name", "python train.py --wandb 0123456789abcdef --url https://u:hf_XyZ123456@host/x",
			map[string]any{"wandb": secret.Redacted, "url": secret.Redacted}},
		{"secret hydra", "python train.py db.password=hunter2 auth_token=xyz",
			map[string]any{"db.password": secret.Redacted, "auth_token": secret.Redacted}},
		{"lone secret flag", "python train.py --use_auth_token",
			map[string]any{"use_auth_token": true}},
		{"secret camel case and endings", "python train.py --apiKey abcdefgh --hftoken x1 --oauth y --gcp_credentials c.json",
			map[string]any{"apiKey": secret.Redacted, "hftoken": secret.Redacted, "oauth": secret.Redacted, "gcp_credentials": secret.Redacted}},
		{"hyperparameters that only look secret", "python train.py --max-tokens 4096 --max_new_tokens 256 --tokenizer bert-base-uncased --num-keypoints 17 --author ada --keyframe_stride 4 --sessions 3",
			map[string]any{"max-tokens": int64(4096), "max_new_tokens": int64(256), "tokenizer": "bert-base-uncased",
				"num-keypoints": int64(17), "author": "ada", "keyframe_stride": int64(4), "sessions": int64(3)}},
		{"program only", "./train", map[string]any{}},
	}
	for _, tt := range tests {
		got := ArgParams(strings.Fields(tt.cmd), red)
		if !reflect.DeepEqual(got, tt.want) {
			t.Errorf("%s: ArgParams(%q)\n got %v\nwant %v", tt.name, tt.cmd, fmtMap(got), fmtMap(tt.want))
		}
	}
	if got := ArgParams(nil, nil); len(got) != 0 {
		t.Errorf("ArgParams(nil) = %v", got)
	}
	if got := ArgParams([]string{"p", "--long", strings.Repeat("x", 70000), "--bad", "\xff"}, nil); len(got) != 0 {
		t.Errorf("unrecordable values kept: %v", len(got))
	}
}

func fmtMap(m map[string]any) string {
	var b strings.Builder
	for k, v := range m {
		fmt.Fprintf(&b, "%s=%#v ", k, v)
	}
	return b.String()
}

func TestRedactArgs(t *testing.T) {
	red := secret.NewRedactor([]string{"HF_TOKEN=hf_XyZ123456"})
	args := strings.Fields("python train.py --api-key sk-abc --password=pw --lr 0.1 db.secret=x +auth_token=y --use_auth_token --url https://u:hf_XyZ123456@h --key")
	want := strings.Fields("python train.py --api-key [redacted] --password=[redacted] --lr 0.1 db.secret=[redacted] +auth_token=[redacted] --use_auth_token --url https://u:[redacted]@h --key")
	if got := RedactArgs(args, red); !reflect.DeepEqual(got, want) {
		t.Errorf("RedactArgs:\n got %q\nwant %q", got, want)
	}
	if got, want := ArgSecrets(args), []string{"sk-abc", "pw", "x", "y"}; !reflect.DeepEqual(got, want) {
		t.Errorf("ArgSecrets = %q, want %q", got, want)
	}
}

// Secrets recognised by their shape are redacted under any flag name.
func TestArgsSecretsByShape(t *testing.T) {
	tok := "ghp_aB3dE5fG7hJ9kL1mN3pQ5rS7tU9vW1xY3z0A"
	args := []string{"python", "train.py", "--x", tok, "--url=https://ada:Pw0rdPw0rd@db.example/x", "cfg.k=" + tok, "--lr", "0.1", "--commit", "3f2a9c1e5b7d4a6f8e0c2b4d6f8a0c2e4b6d8f0a"}
	got := strings.Join(RedactArgs(args, nil), " ")
	if want := "python train.py --x [redacted] --url=https://ada:[redacted]@db.example/x cfg.k=[redacted] --lr 0.1 --commit 3f2a9c1e5b7d4a6f8e0c2b4d6f8a0c2e4b6d8f0a"; got != want {
		t.Errorf("RedactArgs = %q", got)
	}
	p := ArgParams(args, nil)
	if p["x"] != secret.Redacted || p["url"] != secret.Redacted || p["cfg.k"] != secret.Redacted || p["lr"] != 0.1 || p["commit"] != "3f2a9c1e5b7d4a6f8e0c2b4d6f8a0c2e4b6d8f0a" {
		t.Errorf("ArgParams = %v", p)
	}
}
