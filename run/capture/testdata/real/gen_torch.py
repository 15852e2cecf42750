"""Train small PyTorch models on synthetic tensors and print as PyTorch's
MNIST example and nanoGPT print, with the start-up output of such scripts:
argparse's Namespace, a config dict, the model's repr, warnings.
Run: python3 gen_torch.py > torch.log 2>&1"""
import argparse
import math
import sys
import time
import warnings

import torch
import torch.nn as nn
import torch.nn.functional as F
import torch.optim as optim
from torch.optim.lr_scheduler import StepLR

torch.manual_seed(1)
print("torch", torch.__version__)
print("CUDA available:", torch.cuda.is_available())

parser = argparse.ArgumentParser(description="PyTorch MNIST Example")
parser.add_argument("--batch-size", type=int, default=64)
parser.add_argument("--test-batch-size", type=int, default=1000)
parser.add_argument("--epochs", type=int, default=3)
parser.add_argument("--lr", type=float, default=1.0)
parser.add_argument("--gamma", type=float, default=0.7)
parser.add_argument("--no-cuda", action="store_true", default=False)
parser.add_argument("--dry-run", action="store_true", default=False)
parser.add_argument("--seed", type=int, default=1)
parser.add_argument("--log-interval", type=int, default=10)
parser.add_argument("--save-model", action="store_true", default=False)
args = parser.parse_args([])
print(args)


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 8, 3, 1)
        self.conv2 = nn.Conv2d(8, 16, 3, 1)
        self.dropout1 = nn.Dropout(0.25)
        self.dropout2 = nn.Dropout(0.5)
        self.fc1 = nn.Linear(576, 32)
        self.fc2 = nn.Linear(32, 10)

    def forward(self, x):
        x = F.relu(self.conv1(x))
        x = F.relu(self.conv2(x))
        x = F.max_pool2d(x, 2)
        x = self.dropout1(x)
        x = torch.flatten(x, 1)
        x = F.relu(self.fc1(x))
        x = self.dropout2(x)
        return F.log_softmax(self.fc2(x), dim=1)


# Synthetic "MNIST": 16x16 images whose class sets a bright square.
def make_data(n):
    y = torch.randint(0, 10, (n,))
    x = torch.randn(n, 1, 16, 16) * 0.5
    for i in range(n):
        r, c = divmod(int(y[i]), 4)
        x[i, 0, r * 4:r * 4 + 4, c * 4:c * 4 + 4] += 1.5
    return x, y


xtr, ytr = make_data(2560)
xte, yte = make_data(1000)
train_loader = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(xtr, ytr),
                                           batch_size=args.batch_size, shuffle=True)
test_loader = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(xte, yte),
                                          batch_size=args.test_batch_size)
print("train:", tuple(xtr.shape), "test:", tuple(xte.shape))

model = Net()
print(model)
print(f"Number of parameters: {sum(p.numel() for p in model.parameters())}")
optimizer = optim.Adadelta(model.parameters(), lr=args.lr)
print(optimizer)
scheduler = StepLR(optimizer, step_size=1, gamma=args.gamma)


def train(epoch):
    model.train()
    for batch_idx, (data, target) in enumerate(train_loader):
        optimizer.zero_grad()
        loss = F.nll_loss(model(data), target)
        loss.backward()
        optimizer.step()
        if batch_idx % args.log_interval == 0:
            print('Train Epoch: {} [{}/{} ({:.0f}%)]\tLoss: {:.6f}'.format(
                epoch, batch_idx * len(data), len(train_loader.dataset),
                100. * batch_idx / len(train_loader), loss.item()))


def test():
    model.eval()
    test_loss = 0
    correct = 0
    with torch.no_grad():
        for data, target in test_loader:
            output = model(data)
            test_loss += F.nll_loss(output, target, reduction='sum').item()
            pred = output.argmax(dim=1, keepdim=True)
            correct += pred.eq(target.view_as(pred)).sum().item()
    test_loss /= len(test_loader.dataset)
    print('\nTest set: Average loss: {:.4f}, Accuracy: {}/{} ({:.0f}%)\n'.format(
        test_loss, correct, len(test_loader.dataset),
        100. * correct / len(test_loader.dataset)))


for epoch in range(1, args.epochs + 1):
    train(epoch)
    test()
    scheduler.step()
sys.stdout.flush()

# A warning torch itself gives: the scheduler stepped before the optimizer.
opt2 = optim.SGD(model.parameters(), lr=0.1)
sch2 = StepLR(opt2, step_size=1)
sch2.step()
sys.stderr.flush()

# A tensor printed as a value and as a tensor.
with torch.no_grad():
    out = model(xte[:4])
    loss = F.nll_loss(out, yte[:4])
print("loss:", loss)
print("predictions:", out.argmax(1))
print("logits:", out[:2, :3])
sys.stdout.flush()

# nanoGPT's style: a character-level transformer on a synthetic text.
config = {"n_layer": 2, "n_head": 2, "n_embd": 32, "block_size": 32, "batch_size": 16,
          "learning_rate": 1e-3, "max_iters": 60, "eval_interval": 20, "eval_iters": 5,
          "dropout": 0.0, "bias": False, "compile": False, "device": "cpu"}
print("Overriding: max_iters = 60")
print("Overriding: eval_interval = 20")
print(config)
text = ("the quick brown fox jumps over the lazy dog. " * 200)
chars = sorted(set(text))
print(f"found vocab_size = {len(chars)} (inside synthetic text)")
stoi = {c: i for i, c in enumerate(chars)}
data = torch.tensor([stoi[c] for c in text])
n = int(0.9 * len(data))
train_data, val_data = data[:n], data[n:]
tokens_per_iter = config["batch_size"] * config["block_size"]
print(f"tokens per iteration will be: {tokens_per_iter:,}")


def get_batch(split):
    d = train_data if split == "train" else val_data
    ix = torch.randint(len(d) - config["block_size"], (config["batch_size"],))
    x = torch.stack([d[i:i + config["block_size"]] for i in ix])
    y = torch.stack([d[i + 1:i + 1 + config["block_size"]] for i in ix])
    return x, y


class GPT(nn.Module):
    def __init__(self, vocab, cfg):
        super().__init__()
        self.tok = nn.Embedding(vocab, cfg["n_embd"])
        self.pos = nn.Embedding(cfg["block_size"], cfg["n_embd"])
        layer = nn.TransformerEncoderLayer(cfg["n_embd"], cfg["n_head"], 4 * cfg["n_embd"],
                                           dropout=cfg["dropout"], batch_first=True)
        self.blocks = nn.TransformerEncoder(layer, cfg["n_layer"])
        self.head = nn.Linear(cfg["n_embd"], vocab, bias=False)

    def forward(self, idx, targets=None):
        t = idx.shape[1]
        mask = torch.triu(torch.full((t, t), float("-inf")), diagonal=1)
        x = self.tok(idx) + self.pos(torch.arange(t))
        logits = self.head(self.blocks(x, mask=mask))
        loss = None if targets is None else F.cross_entropy(logits.view(-1, logits.size(-1)), targets.view(-1))
        return logits, loss


print("Initializing a new model from scratch")
gpt = GPT(len(chars), config)
print(gpt)
print("number of parameters: %.2fM" % (sum(p.numel() for p in gpt.parameters()) / 1e6,))
decay = [p for p in gpt.parameters() if p.dim() >= 2]
nodecay = [p for p in gpt.parameters() if p.dim() < 2]
print(f"num decayed parameter tensors: {len(decay)}, with {sum(p.numel() for p in decay):,} parameters")
print(f"num non-decayed parameter tensors: {len(nodecay)}, with {sum(p.numel() for p in nodecay):,} parameters")
print("using fused AdamW: False")
opt = torch.optim.AdamW(gpt.parameters(), lr=config["learning_rate"])


@torch.no_grad()
def estimate_loss():
    out = {}
    gpt.eval()
    for split in ["train", "val"]:
        losses = torch.zeros(config["eval_iters"])
        for k in range(config["eval_iters"]):
            _, l = gpt(*get_batch(split))
            losses[k] = l.item()
        out[split] = losses.mean()
    gpt.train()
    return out


t0 = time.time()
running_mfu = -1.0
for it in range(config["max_iters"] + 1):
    lr = config["learning_rate"] * min(1.0, (it + 1) / 10)
    for g in opt.param_groups:
        g["lr"] = lr
    if it % config["eval_interval"] == 0:
        losses = estimate_loss()
        print(f"step {it}: train loss {losses['train']:.4f}, val loss {losses['val']:.4f}")
        if it > 0:
            print("saving checkpoint to out-synthetic")
    _, loss = gpt(*get_batch("train"))
    opt.zero_grad(set_to_none=True)
    loss.backward()
    torch.nn.utils.clip_grad_norm_(gpt.parameters(), 1.0)
    opt.step()
    t1 = time.time()
    dt = t1 - t0
    t0 = t1
    if it % 5 == 0:
        # nanoGPT estimates the model flops utilization against an A100;
        # a made-up but steady figure here.
        mfu = 0.05 + 0.01 * math.sin(it)
        running_mfu = mfu if running_mfu == -1.0 else 0.9 * running_mfu + 0.1 * mfu
        print(f"iter {it}: loss {loss.item():.4f}, time {dt*1000:.2f}ms, mfu {running_mfu*100:.2f}%")
sys.stdout.flush()

# A plain loop that prints per epoch in a common hand-written style.
xs = torch.tensor(torch.randn(512, 8))  # torch warns about copying a tensor
ys = xs @ torch.randn(8, 1) + 0.1 * torch.randn(512, 1)
lin = nn.Linear(8, 1)
o = optim.SGD(lin.parameters(), lr=0.05)
for epoch in range(1, 6):
    o.zero_grad()
    l = F.mse_loss(lin(xs), ys)
    l.backward()
    o.step()
    print(f"Epoch [{epoch}/5], Loss: {l.item():.4f}")
for epoch in range(5):
    l = F.mse_loss(lin(xs), ys)
    print(f"epoch {epoch}: train_loss={l.item():.4f} lr={o.param_groups[0]['lr']}")
print("Training finished in 0.5s")
