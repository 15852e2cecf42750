package capture

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"testing"

	"github.com/gitruns/gitruns/run"
)

// pts renders points compactly for comparison: "key=value@step", with
// "@-" for no step.
func pts(ps []Point) string {
	var parts []string
	for _, p := range ps {
		step := "-"
		if p.HasStep {
			step = fmt.Sprint(p.Step)
		}
		parts = append(parts, fmt.Sprintf("%s=%v@%s", p.Key, p.Value, step))
	}
	return strings.Join(parts, " ")
}

func TestParseDefault(t *testing.T) {
	tests := []struct {
		name, line, want string
	}{
		// Plain prints.
		{"colon", "loss: 0.31", "loss=0.31@-"},
		{"equals with step", "epoch 3 loss=0.31 acc=0.9", "loss=0.31@3 acc=0.9@3"},
		{"spaced equals slash key", "val/acc = 0.87", "val/acc=0.87@-"},
		{"step over epoch", "epoch 3 step 1200 loss=0.3124 acc=0.912", "loss=0.3124@1200 acc=0.912@1200 epoch=3@1200"},
		{"step after metrics", "loss=0.5 global_step=77", "loss=0.5@77"},
		{"batch within an epoch", "Epoch 1, batch 100, loss 0.35", "loss=0.35@1"},
		{"batch with equals", "epoch=2 batch=300 loss=0.3", "loss=0.3@2"},
		{"exponent", "lr=1e-3 wd = 5E-05", "lr=0.001@- wd=5e-05@-"},
		{"negative and plus", "reward=-12.5 delta=+3", "reward=-12.5@- delta=3@-"},
		{"nan and inf", "loss=nan grad_norm=inf val=-Infinity", "loss=NaN@- grad_norm=+Inf@- val=-Inf@-"},
		{"percent", "acc: 95.3%", "acc=95.3@-"},
		{"percent in parens", "Iter 20: top1=71.2% (best)", "top1=71.2@20"},
		{"sentence end", "Finished: best accuracy: 0.91.", "best accuracy=0.91@-"},
		{"tensor", "step 5 loss: tensor(0.3124, device='cuda:0', grad_fn=<NllLossBackward0>)", "loss=0.3124@5"},
		{"numpy 2 repr", "{'loss': np.float64(0.25), 'acc': np.float32(0.5)}", "loss=0.25@- acc=0.5@-"},
		{"pipe and equals", "step=10 | loss=2.5 | ppl=12.18", "loss=2.5@10 ppl=12.18@10"},
		{"ansi colours", "\x1b[32mEpoch 2\x1b[0m: \x1b[1mloss\x1b[0m=0.25", "loss=0.25@2"},
		{"int value", "tokens=50000", "tokens=50000@-"},
		{"trailing dot number", "loss=1.", "loss=1@-"},
		{"leading dot number", "lr=.001", "lr=0.001@-"},
		{"iteration word", "Iteration 300/1000: loss: 1.25 lr: 0.0001", "loss=1.25@300 lr=0.0001@300"},
		{"step bracket", "[Step 40] loss=0.5", "loss=0.5@40"},
		{"tab before metric", "Train Epoch: 1 [640/60000 (1%)]\tLoss: 0.302", "Loss=0.302@1"},
		{"MNIST test", "Test set: Average loss: 0.0325, Accuracy: 9893/10000 (99%)", "Average loss=0.0325@- Accuracy=0.9893@-"},
		{"qualified keys", "Epoch 3 | Train Loss: 0.3124 | Train Acc: 91.20% | val mAP: 0.45", "Train Loss=0.3124@3 Train Acc=91.2@3 val mAP=0.45@3"},
		{"qualified equals", "step 9: train loss=0.5 val loss = 0.6", "train loss=0.5@9 val loss=0.6@9"},
		{"log level", "2024-01-15 10:30:45,123 INFO loss: 0.3", "loss=0.3@-"},
		{"tutorial", "Epoch [1/5], Step [100/600], Loss: 0.2145", "Loss=0.2145@100 epoch=1@100"},
		{"json", `{"step": 3, "train/loss": 0.25, "lr":0.001}`, "train/loss=0.25@3 lr=0.001@3"},
		{"log prefix", "2024-01-15 10:30:00,123 - INFO - epoch=2 val_loss: 0.29", "val_loss=0.29@2"},
		{"python logging", "INFO:root:step 12: loss: 0.5", "loss=0.5@12"},
		{"it step", "it 500 | loss 0.41", "loss=0.41@500"},

		// PyTorch Lightning.
		{"lightning bar", "Epoch 0: 100%|██████████| 1875/1875 [00:15<00:00, 120.50it/s, v_num=0, train_loss=0.123]", "train_loss=0.123@0"},
		{"lightning bar mid", "Epoch 3:  45%|████▌     | 45/100 [00:05<00:06,  8.90it/s, loss=0.312, v_num=1]", "loss=0.312@3"},
		{"lightning val", "Epoch 1: 100%|██████████| 32/32 [00:01<00:00, 20.5it/s, v_num=3, val_loss=0.29, val_acc=0.91, train_loss=0.25]", "val_loss=0.29@1 val_acc=0.91@1 train_loss=0.25@1"},

		// Keras.
		{"keras 2", "32/32 [==============================] - 1s 5ms/step - loss: 0.3124 - accuracy: 0.9120", "loss=0.3124@- accuracy=0.912@-"},
		{"keras 2 val", "32/32 [==============================] - 1s 9ms/step - loss: 0.3124 - accuracy: 0.9120 - val_loss: 0.3300 - val_accuracy: 0.9000", "loss=0.3124@- accuracy=0.912@- val_loss=0.33@- val_accuracy=0.9@-"},
		{"keras 3", "\x1b[1m32/32\x1b[0m \x1b[32m━━━━━━━━━━━━━━━━━━━━\x1b[0m\x1b[37m\x1b[0m \x1b[1m1s\x1b[0m 5ms/step - accuracy: 0.9120 - loss: 0.3124", "accuracy=0.912@- loss=0.3124@-"},
		{"keras progress", "12/32 [=========>....................] - ETA: 0s - loss: 0.5231", "loss=0.5231@-"},

		// Hugging Face Trainer.
		{"hf log", "{'loss': 0.3124, 'grad_norm': 2.125, 'learning_rate': 5e-05, 'epoch': 0.5}", "loss=0.3124@- grad_norm=2.125@- learning_rate=5e-05@- epoch=0.5@-"},
		{"hf eval", "{'eval_loss': 0.2914, 'eval_runtime': 1.2, 'eval_samples_per_second': 100.5, 'eval_steps_per_second': 12.6, 'epoch': 1.0}", "eval_loss=0.2914@- eval_runtime=1.2@- eval_samples_per_second=100.5@- eval_steps_per_second=12.6@- epoch=1@-"},
		{"hf after bar", " 10%|█         | 50/500 [00:10<01:30,  5.00it/s]{'loss': 0.6931, 'learning_rate': 4.5e-05, 'epoch': 0.1}", "loss=0.6931@- learning_rate=4.5e-05@- epoch=0.1@-"},
		{"hf integer epoch is step", "{'loss': 0.5, 'epoch': 2}", "loss=0.5@2"},

		// XGBoost, LightGBM, CatBoost.
		{"xgboost", "[0]\ttrain-rmse:17.5\teval-rmse:17.6", "train-rmse=17.5@0 eval-rmse=17.6@0"},
		{"xgboost sklearn", "[99]\tvalidation_0-logloss:0.04712\tvalidation_1-logloss:0.10233", "validation_0-logloss=0.04712@99 validation_1-logloss=0.10233@99"},
		{"lightgbm", "[10]\tvalid_0's l2: 25.3\tvalid_0's l1: 3.2", "valid_0/l2=25.3@10 valid_0/l1=3.2@10"},
		{"lightgbm two sets", "[20]\ttraining's binary_logloss: 0.21 valid_1's binary_logloss: 0.25", "training/binary_logloss=0.21@20 valid_1/binary_logloss=0.25@20"},
		{"catboost", "10:\tlearn: 0.6568\ttest: 0.6570\tbest: 0.6570 (10)\ttotal: 58.4ms\tremaining: 5.3s", "learn=0.6568@10 test=0.657@10 best=0.657@10"},

		// fairseq.
		{"fairseq pipes", "epoch 001 | loss 4.123 | nll_loss 3.9 | ppl 14.9 | wps 12345 | num_updates 500 | lr 0.0005", "loss=4.123@500 nll_loss=3.9@500 ppl=14.9@500 wps=12345@500 lr=0.0005@500 epoch=1@500"},
		{"fairseq commas", "epoch 002:    100 / 1000 loss=4.123, nll_loss=3.9, ppl=14.9, wps=12345, num_updates=1100", "loss=4.123@1100 nll_loss=3.9@1100 ppl=14.9@1100 wps=12345@1100 epoch=2@1100"},
		{"fairseq json", `{"epoch": 1, "update": 0.1, "loss": "4.123", "ppl": "14.9"}`, "update=0.1@1 loss=4.123@1 ppl=14.9@1"},
		{"fairseq valid", "epoch 001 | valid on 'valid' subset | loss 3.9 | ppl 13.1", "loss=3.9@1 ppl=13.1@1"},

		// tqdm.
		{"tqdm postfix", "100%|██████████| 10/10 [00:01<00:00,  9.5it/s, loss=0.31]", "loss=0.31@-"},
		{"tqdm desc postfix", "train: 100%|██████████| 10/10 [00:01<00:00,  9.50it/s, loss=0.31, acc=0.88]", "loss=0.31@- acc=0.88@-"},

		// scikit-learn's verbose estimators.
		{"name before a qualified phrase", "MLP test score: 0.9156", "MLP test score=0.9156@-"},
		{"hyphenated phrase", "Best cross-validation score: 0.993", "Best cross-validation score=0.993@-"},
		{"abbreviated qualifier", "Norm: 265.71, NNZs: 61, Bias: -285.65, T: 1347, Avg. loss: 6.2198",
			"Norm=265.71@- NNZs=61@- Bias=-285.65@- T=1347@- Avg. loss=6.2198@-"},
		{"objective", "Objective value = -6.196099", "Objective value=-6.196099@-"},
		{"after a call", "Linear(in_features=32) loss=0.5", "loss=0.5@-"},
		{"named counter", "Minibatch step 3/23: mean batch inertia: 2.2611, ewa inertia: 2.2595",
			"mean batch inertia=2.2611@3 ewa inertia=2.2595@3"},
		{"value before a key", "best_iteration: 7 best_score: 0.9902", "best_iteration=7@- best_score=0.9902@-"},
		{"number and preposition", "accuracy: 0.91 at step 100", "accuracy=0.91@100"},
		{"settings that gave a score", "best score: 0.9221 with {'C': 1}", "best score=0.9221@-"},
		{"tab fields", "Initialization converged: True\t time lapse 0.09095s\t ll -4.23222", "ll=-4.23222@-"},
		{"pairs after an epoch and a step", "Epoch 5 step 3 lr 0.1 loss 2.3 acc 0.9", "lr=0.1@3 loss=2.3@3 acc=0.9@3 epoch=5@3"},
		{"N/TOTAL first", "[3/100] 1 tree, 31 leaves, max depth = 9, train loss: 0.46988, val loss: 0.47095, in 0.028s",
			"max depth=9@3 train loss=0.46988@3 val loss=0.47095@3"},
		{"counter and comma", "Iteration 3, inertia 81.32806489357331.", "inertia=81.32806489357331@3"},
		{"counter and pairs", "iter  2 act 1.321e+02 pre 1.044e+02 delta 2.080e+00 f 2.476e+02 |g| 2.298e+02 CG   4",
			"act=132.1@2 pre=104.4@2 delta=2.08@2 f=247.6@2 CG=4@2"},
		{"tagged counter and pairs", "[LibLinear]iter  1 act 6.860e+02 pre 5.994e+02 f 9.337e+02 |g| 8.413e+02 CG   4",
			"act=686@1 pre=599.4@1 f=933.7@1 CG=4@1"},
		{"phrase of a field", "[t-SNE] Iteration 50: error = 56.4338531, gradient norm = 0.0566004 (50 iterations in 0.470s)",
			"error=56.4338531@50 gradient norm=0.0566004@50"},
	}
	p, err := NewParser("")
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range tests {
		got := pts(p.Parse([]byte(tt.line), nil))
		if got != tt.want {
			t.Errorf("%s: Parse(%q)\n got %s\nwant %s", tt.name, tt.line, got, tt.want)
		}
	}
}

func TestParseNothing(t *testing.T) {
	lines := []string{
		"Loaded 50000 images from /data/train in 3.2s",
		// Shells' errors name a script and a line number.
		"train.sh: 1: cannot open data/train.csv: No such file",
		"sh: 1: python4: not found",
		"./run.sh: line 3: data/x.csv: No such file or directory",
		"bash: line 1: foo: command not found",
		"Using 4 GPUs",
		"Epoch 3/10",
		"Epoch 3",
		"Python 3.11.7",
		"torch==2.1.0",
		"Successfully installed torch-2.1.0 numpy-1.26.2",
		"transformers version: 4.36.0",
		"Running on http://127.0.0.1:7860",
		"Serving at http://localhost:8080/metrics",
		"Connecting to gpu-node-3:29500",
		"Downloading: 100%",
		"Downloading: 100%|██████████| 1.2G/1.2G [00:12<00:00, 98.1MB/s]",
		"Downloaded 12.3MB in 1.1s",
		"size: 12.3MB",
		"ETA: 00:12",
		"Time: 12:30:45",
		"Started at 2024-01-15 10:30:45",
		"date: 2024-01-15",
		"IP: 192.168.1.10",
		"train.py:42: UserWarning: This DataLoader will create 8 worker processes",
		"/home/u/proj/train.py:42: UserWarning: the default value changed",
		"  File \"train.py\", line 42, in <module>",
		"Saved checkpoint to checkpoints/epoch=3-step=1200.ckpt",
		"Saving model to '/runs/epoch=0-step=32.ckpt'",
		"TPU available: False, using: 0 TPU cores",
		"Trainable params: 11.2 M",
		"Error: 404 Not Found",
		"Namespace(lr=0.01, batch_size=32, epochs=10)",
		"`Trainer.fit` stopped: `max_epochs=10` reached.",
		"LOCAL_RANK: 0 - CUDA_VISIBLE_DEVICES: [0]",
		"Seed set to 42",
		"seed: 42",
		"[LightGBM] [Info] Number of data points in the train set: 800, number of used features: 10",
		"| NVIDIA-SMI 535.104.05   Driver Version: 535.104.05   CUDA Version: 12.2     |",
		"|  0%   34C    P8     9W /  70W |      0MiB / 15360MiB |      0%      Default |",
		"https://example.com/download?version=2&id=5",
		"C:\\Users\\me\\data:1",
		"Total: 1,234,567 parameters",
		"accuracy = 3/10",
		"speed: 9.5it/s",
		"a == 3",
		"Sanity Checking DataLoader 0: 100%|██████████| 2/2 [00:00<00:00, 20.1it/s]",
		"Epoch 0:   3%|▎         | 1/32 [00:00<00:05,  5.8it/s]",
		"The answer is 42, said the model at 3pm.",
		"host:8080",
		"  Num Epochs = 3",
		"  Instantaneous batch size per device = 8",
		"Batch size: 32",
		"Model achieved accuracy: 0.9",
		"[Parallel(n_jobs=1)]: Done   4 out of   4 | elapsed:    0.0s finished",
		"  (fc1): Linear(in_features=576, out_features=32, bias=True)",
		"[13:29:44] INFO: ./src/tree/updater_prune.cc:98: tree pruning end, 6 extra nodes, 0 pruned nodes, max_depth=2",
		"Epoch 1 of 10",
		"iter 3 took 12 seconds",
		"iter 3 lr 0.1",
		"Iteration 3, 31 leaves",
		"Loaded the data, batch size = 32",
		"Number of parameters: 20042",
		"n_samples=1797, n_features=64",
		"importance: {'f0': 0.22, 'f1': 0.162}",
		"params used: with {'C': 1}",
		"[t-SNE] KL divergence after 250 iterations with early exaggeration: 56.096607",
		"CUDA Version: 12.2",
		"Using batch_size=32",
		"x:1 y:2",
	}
	p, err := NewParser("")
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range lines {
		if got := p.Parse([]byte(line), nil); len(got) > 0 {
			t.Errorf("Parse(%q) = %s, want nothing", line, pts(got))
		}
	}
}

func TestParseKeysValid(t *testing.T) {
	p, _ := NewParser("")
	lines := []string{"a..b=1 ok=2", "x=1", strings.Repeat("k", 64) + "=1", strings.Repeat("k", 65) + "=1"}
	var got []Point
	for _, l := range lines {
		got = p.Parse([]byte(l), got)
	}
	for _, pt := range got {
		if err := run.ValidateKey("metric", pt.Key); err != nil {
			t.Errorf("key %q: %v", pt.Key, err)
		}
	}
	if s := pts(got); s != "ok=2@- x=1@- "+strings.Repeat("k", 64)+"=1@-" {
		t.Errorf("got %s", s)
	}
}

func TestParseLongLine(t *testing.T) {
	p, _ := NewParser("")
	long := "loss=1 " + strings.Repeat("x", maxLineLen)
	if got := p.Parse([]byte(long), nil); len(got) != 0 {
		t.Errorf("long line gave %s", pts(got))
	}
}

func TestParseAppends(t *testing.T) {
	p, _ := NewParser("")
	dst := []Point{{Key: "old", Value: 1}}
	dst = p.Parse([]byte("step 4 loss=2"), dst)
	if got := pts(dst); got != "old=1@- loss=2@4" {
		t.Errorf("got %s", got)
	}
}

func TestParsePattern(t *testing.T) {
	p, err := NewParser(`\b(?P<key>[a-z]+)\[(?P<step>\d+)\]\s*->\s*(?P<value>[^,\s]+)`)
	if err != nil {
		t.Fatal(err)
	}
	got := pts(p.Parse([]byte("loss[3] -> 0.5, acc[3] -> 0.9, bad[4] -> x, Up[1] -> 2"), nil))
	if want := "loss=0.5@3 acc=0.9@3"; got != want {
		t.Errorf("got %s, want %s", got, want)
	}
	p, err = NewParser(`(?P<key>\w+)=(?P<value>\S+)`)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := pts(p.Parse([]byte("step 3 loss=nan"), nil)), "loss=NaN@-"; got != want {
		t.Errorf("got %s, want %s", got, want)
	}
	for _, bad := range []string{`(?P<key>\w+)=\S+`, `\w+=(?P<value>\S+)`, `(?P<key>\w+=(?P<value>\S+)`} {
		if _, err := NewParser(bad); err == nil || !strings.HasPrefix(err.Error(), "metrics pattern: ") {
			t.Errorf("NewParser(%q) error = %v", bad, err)
		}
	}
}

func TestParseValues(t *testing.T) {
	p, _ := NewParser("")
	got := p.Parse([]byte("a=nan b=-inf c=1e999"), nil)
	if len(got) != 3 || !math.IsNaN(got[0].Value) || !math.IsInf(got[1].Value, -1) || !math.IsInf(got[2].Value, 1) {
		t.Errorf("got %s", pts(got))
	}
}

func TestParseNoAllocs(t *testing.T) {
	p, _ := NewParser("")
	lines := [][]byte{
		[]byte("epoch 3 step 1200 loss=0.3124 acc=0.912"),
		[]byte("Loaded 50000 images from /data/train in 3.2s"),
		[]byte("{'loss': 0.3124, 'learning_rate': 5e-05, 'epoch': 0.5}"),
		[]byte("\x1b[32mloss\x1b[0m: 0.5"),
	}
	dst := make([]Point, 0, 16)
	for _, l := range lines {
		p.Parse(l, dst) // fill the key cache
	}
	allocs := testing.AllocsPerRun(100, func() {
		for _, l := range lines {
			dst = p.Parse(l, dst[:0])
		}
	})
	if allocs != 0 {
		t.Errorf("%v allocations per run", allocs)
	}
}

func TestParseConcurrent(t *testing.T) {
	p, _ := NewParser("")
	done := make(chan bool)
	for g := 0; g < 4; g++ {
		go func() {
			var dst []Point
			for i := 0; i < 1000; i++ {
				dst = p.Parse(fmt.Appendf(nil, "step %d loss_%d=%d", i, i%50, i), dst[:0])
				if len(dst) != 1 || dst[0].Step != int64(i) {
					t.Errorf("line %d: %s", i, pts(dst))
				}
			}
			done <- true
		}()
	}
	for g := 0; g < 4; g++ {
		<-done
	}
}

// benchLines is 1,000,000 lines of output, one in five a metric line.
func benchLines() [][]byte {
	prose := []string{
		"Loaded 50000 images from /data/train in 3.2s",
		"INFO 2024-01-15 10:30:45 worker 3 ready",
		"Downloading: 100%|██████████| 1.2G/1.2G [00:12<00:00, 98.1MB/s]",
		"train.py:42: UserWarning: This DataLoader will create 8 worker processes",
	}
	lines := make([][]byte, 1_000_000)
	for i := range lines {
		if i%5 == 0 {
			lines[i] = fmt.Appendf(nil, "epoch %d step %d loss=%.4f acc=%.3f", i/50000, i/5, 1/float64(i+1), float64(i%1000)/1000)
		} else {
			lines[i] = []byte(prose[i%4])
		}
	}
	return lines
}

func BenchmarkParse1M(b *testing.B) {
	lines := benchLines()
	p, _ := NewParser("")
	dst := make([]Point, 0, 16)
	b.ResetTimer()
	for b.Loop() {
		n := 0
		for _, l := range lines {
			dst = p.Parse(l, dst[:0])
			n += len(dst)
		}
		if n != 600_000 { // loss, acc and the epoch, as the line has a step
			b.Fatalf("%d points", n)
		}
	}
}

// TestParseNumbersExact checks the fast conversion against strconv.
func TestParseNumbersExact(t *testing.T) {
	p, _ := NewParser("")
	rnd := uint64(1)
	next := func() uint64 { rnd ^= rnd << 13; rnd ^= rnd >> 7; rnd ^= rnd << 17; return rnd }
	cases := []string{"0", "0.1", "0.3124", "5e-05", "1e22", "1e23", "9007199254740993", "123456789012345678901", "0.000000000000000000001", "4.9e-324", "1.7976931348623157e308", "2.5E+3", "007"}
	for i := 0; i < 20000; i++ {
		m := next() % (1 << 54)
		frac := int(next() % 20)
		s := strconv.FormatUint(m, 10)
		if frac < len(s) {
			s = s[:len(s)-frac] + "." + s[len(s)-frac:]
		}
		if next()%3 == 0 {
			s += "e" + strconv.Itoa(int(next()%60)-30)
		}
		cases = append(cases, s)
	}
	for _, s := range cases {
		want, err := strconv.ParseFloat(s, 64)
		if err != nil {
			t.Fatal(err)
		}
		got := p.Parse([]byte("x="+s), nil)
		if len(got) != 1 || got[0].Value != want {
			t.Fatalf("x=%s gave %s, want %v", s, pts(got), want)
		}
	}
}

func FuzzParse(f *testing.F) {
	for _, s := range []string{
		"epoch 3 step 1200 loss=0.3124 acc=0.912", "[0]\ttrain-rmse:17.5", "{'loss': np.float64(0.25)}",
		"[10]\tvalid_0's l2: 25.3", "| loss 4.1 |", "a: tensor(1.", "\x1b[1", "epoch [3/", "x=1e", "'a':'1",
	} {
		f.Add([]byte(s))
	}
	p, _ := NewParser("")
	f.Fuzz(func(t *testing.T, line []byte) {
		for _, pt := range p.Parse(line, nil) {
			if err := run.ValidateKey("metric", pt.Key); err != nil {
				t.Errorf("Parse(%q): %v", line, err)
			}
		}
	})
}
