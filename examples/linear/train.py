#!/usr/bin/env python3
"""Fit y = w*x + b to noisy data by gradient descent, with nothing but the
standard library.

    git runs exec -- python3 train.py --lr 0.05 --epochs 40

git runs exec needs nothing from the script: it reads --lr from the command
line and the metrics from the printed "epoch N loss=..." lines. The script
only adds the params it left at their defaults, so they are recorded too.
"""
import argparse
import os
import random
import subprocess


def log(*args):
    # Under `git runs exec`, GITRUNS_RUN names the run; elsewhere, just print.
    if os.environ.get("GITRUNS_RUN"):
        subprocess.run(["git-runs", *args], check=True)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--lr", type=float, default=0.05)
    ap.add_argument("--epochs", type=int, default=40)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()

    rng = random.Random(args.seed)
    xs = [rng.uniform(-1, 1) for _ in range(200)]
    ys = [3.0 * x + 2.0 + rng.gauss(0, 0.1) for x in xs]
    log("param", f"lr={args.lr}", f"epochs={args.epochs}", f"seed={args.seed}")

    w = b = 0.0
    n = len(xs)
    for epoch in range(args.epochs):
        gw = sum((w * x + b - y) * x for x, y in zip(xs, ys)) * 2 / n
        gb = sum((w * x + b - y) for x, y in zip(xs, ys)) * 2 / n
        w -= args.lr * gw
        b -= args.lr * gb
        loss = sum((w * x + b - y) ** 2 for x, y in zip(xs, ys)) / n
        print(f"epoch {epoch} loss={loss:.5f} w={w:.4f} b={b:.4f}")
    print(f"fitted y = {w:.3f} x + {b:.3f}")


if __name__ == "__main__":
    main()
