#!/usr/bin/env python3
"""Write W&B offline run directories, as W&B's SDK lays them out, for the
import tests: python3 gen.py OUT [COMMIT] writes OUT/wandb/... and OUT/expected.json,
what the runs hold, the oracle the tests check an import against.

Standard library only: the record log (run-<id>.wandb) is written as
wandb/sdk/internal/datastore.py writes it (LevelDB's log format behind a
":W&B" header, 32 KiB blocks, crc32 of each chunk seeded with its type's),
its records as protocol buffers of wandb/proto/wandb_internal.proto
(Record: history 2, summary 3, config 5, run 17, exit 18), and
files/config.yaml as PyYAML's block style writes W&B's config.

Runs:
  abc123de  files/wandb-history.jsonl, config.yaml with desc: and nested
            values, metadata, output.log (a progress bar redrawn), media;
            finished (exit 0)
  def456gh  history only in the record log (1000 steps, one record over
            32 KiB spanning blocks), config only in the log; failed (exit 1)
  ghi789jk  record log damaged after its run record: no history, the
            summary's last values only; no exit record (crashed)
  syn00001  a synced run's directory (run-*), history in the log, exit 0
"""

import datetime
import json
import math
import os
import struct
import sys
import zlib

BLOCK = 32768
HEADER = 7


def varint(n):
    if n < 0:
        n += 1 << 64
    out = bytearray()
    while True:
        b = n & 0x7F
        n >>= 7
        if n:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


def fld(num, value):
    """One field: an int as a varint, bytes or str length-delimited."""
    if isinstance(value, int):
        return varint(num << 3) + varint(value)
    if isinstance(value, str):
        value = value.encode()
    return varint(num << 3 | 2) + varint(len(value)) + value


def pyjson(v):
    # Python's json writes NaN and infinities bare, as W&B's do.
    return json.dumps(v)


def item(key, value):
    return fld(1, key) + fld(16, pyjson(value))


def history_record(row, step):
    body = b"".join(fld(1, item(k, v)) for k, v in row.items())
    body += fld(2, fld(1, step))
    return fld(2, body)


def summary_record(d):
    return fld(3, b"".join(fld(1, item(k, v)) for k, v in d.items()))


def config_record(d):
    return fld(5, b"".join(fld(1, item(k, v)) for k, v in d.items()))


def run_record(run_id, name, project, start, tags=(), notes="", group="", job_type="", entity="", host="", git=None):
    b = fld(1, run_id) + fld(3, project) + fld(8, name)
    if entity:
        b += fld(2, entity)
    if group:
        b += fld(6, group)
    if job_type:
        b += fld(7, job_type)
    if notes:
        b += fld(9, notes)
    for t in tags:
        b += fld(10, t)
    if host:
        b += fld(13, host)
    sec = int(start)
    b += fld(17, fld(1, sec) + fld(2, int(round((start - sec) * 1e9))))
    if git:
        b += fld(21, fld(1, git[0]) + fld(2, git[1]))
    return fld(17, b)


def exit_record(code, runtime):
    return fld(18, fld(1, code) + fld(2, runtime))


class Log:
    """The record log, as datastore.py writes it."""

    def __init__(self):
        self.buf = bytearray(b":W&B" + struct.pack("<HB", 0xBEE1, 0))

    def chunk(self, data, typ):
        crc = zlib.crc32(data, zlib.crc32(bytes([typ]))) & 0xFFFFFFFF
        self.buf += struct.pack("<IHB", crc, len(data), typ) + data

    def write(self, rec):
        left = BLOCK - len(self.buf) % BLOCK
        if left < HEADER:
            self.buf += b"\0" * left
            left = BLOCK
        if len(rec) + HEADER <= left:
            self.chunk(rec, 1)
            return
        room = left - HEADER
        self.chunk(rec[:room], 2)
        rec = rec[room:]
        while len(rec) > BLOCK - HEADER:
            self.chunk(rec[: BLOCK - HEADER], 3)
            rec = rec[BLOCK - HEADER :]
        self.chunk(rec, 4)


def yaml_scalar(v):
    if v is None:
        return "null"
    if v is True:
        return "true"
    if v is False:
        return "false"
    if isinstance(v, (int, float)):
        return repr(v)
    if v == "" or v[0] in "'\"[]{}&*!|>%@`#-?:," or ": " in v or v in ("null", "true", "false", "~") or v.replace(".", "").isdigit():
        return "'" + v.replace("'", "''") + "'"
    return v


def yaml_block(v, indent):
    """v at indent, PyYAML's block style: a list's items at its key's indent."""
    pad = " " * indent
    out = []
    if isinstance(v, dict):
        if not v:
            return None
        for k, x in v.items():
            if isinstance(x, dict) and x:
                out.append(f"{pad}{k}:")
                out += yaml_block(x, indent + 2)
            elif isinstance(x, list) and x:
                out.append(f"{pad}{k}:")
                out += yaml_block(x, indent)
            else:
                out.append(f"{pad}{k}: {yaml_inline(x)}")
    else:
        for x in v:
            if isinstance(x, dict) and x:
                sub = yaml_block(x, indent + 2)
                out.append(f"{pad}- {sub[0].lstrip()}")
                out += sub[1:]
            else:
                out.append(f"{pad}- {yaml_inline(x)}")
    return out


def yaml_inline(x):
    if isinstance(x, dict):
        return "{}"
    if isinstance(x, list):
        return "[]"
    return yaml_scalar(x)


def config_yaml(config, desc):
    """files/config.yaml: W&B's own keys, then each key's value: (and desc:)."""
    doc = {"wandb_version": 1}
    doc["_wandb"] = {"desc": None, "value": {"cli_version": "0.16.6", "python_version": "3.11.4", "t": {"1": [1, 55], "2": [1, 55]}}} if desc else {"value": {"cli_version": "0.19.1"}}
    for k, v in config.items():
        doc[k] = {"desc": None, "value": v} if desc else {"value": v}
    return "\n".join(yaml_block(doc, 0)) + "\n"


def write(path, data, mtime=None):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    mode = "wb" if isinstance(data, bytes) else "w"
    with open(path, mode) as f:
        f.write(data)
    if mtime:
        os.utime(path, (mtime, mtime))


def fmt(v):
    if isinstance(v, float) and math.isnan(v):
        return "NaN"
    if isinstance(v, float) and math.isinf(v):
        return "+Inf" if v > 0 else "-Inf"
    return repr(float(v))


def flat_params(config):
    out = {}

    def walk(prefix, v):
        if isinstance(v, dict) and v:
            for k, x in v.items():
                walk(prefix + "." + k, x)
        elif isinstance(v, dict):
            out[prefix] = "{}"
        elif isinstance(v, list):
            out[prefix] = json.dumps(v)
        elif v is None:
            out[prefix] = "null"
        elif v is True or v is False:
            out[prefix] = "true" if v else "false"
        else:
            out[prefix] = str(v)

    for k, v in config.items():
        walk(k, v)
    return out


def main():
    out = sys.argv[1]
    commit = sys.argv[2] if len(sys.argv) > 2 else "0123456789abcdef0123456789abcdef01234567"
    root = os.path.join(out, "wandb")
    old = 1_780_000_000  # mtime of finished logs: long ago
    expected = []

    # abc123de: plain files, history file.
    t0 = 1_780_000_000.25
    d = os.path.join(root, "offline-run-20260528_203320-abc123de")
    config = {"lr": 0.001, "batch_size": 32, "optimizer": "adam", "model": {"layers": 3, "act": "relu", "dropout": {"p": 0.1}},
              "sizes": [64, 32], "note": "it's: quoted", "flag": True, "nothing": None, "empty": {}}
    write(os.path.join(d, "files", "config.yaml"), config_yaml(config, desc=True))
    rows, metrics = [], {}
    for s in range(50):
        row = {"loss": 1.0 / (s + 1), "_step": s, "_runtime": s * 0.5, "_timestamp": t0 + s * 0.5}
        if s % 10 == 0:
            row["val"] = {"acc": s / 100.0}
            row["image"] = {"_type": "image-file", "path": "media/images/x.png", "size": 3}
        if s == 3:
            row["loss"] = float("nan")
        if s == 4:
            row["loss"] = float("inf")
        rows.append(row)
        ts = int(round((t0 + s * 0.5) * 1000))
        metrics.setdefault("loss", []).append([s, ts, fmt(row["loss"])])
        if "val" in row:
            metrics.setdefault("val.acc", []).append([s, ts, fmt(row["val"]["acc"])])
    write(os.path.join(d, "files", "wandb-history.jsonl"), "".join(json.dumps(r) + "\n" for r in rows))
    summary = {"loss": 0.02, "_step": 49, "_runtime": 24.5, "_timestamp": t0 + 24.5, "_wandb": {"runtime": 24}}
    write(os.path.join(d, "files", "wandb-summary.json"), json.dumps(summary))
    meta = {"os": "Linux", "python": "3.11.4", "startedAt": datetime.datetime.fromtimestamp(t0, datetime.timezone.utc).replace(tzinfo=None).isoformat(), "program": "train.py",
            "args": ["--lr", "0.001"], "git": {"remote": "https://example.com/ada/proj.git", "commit": commit},
            "host": "node7", "username": "ada", "executable": "/usr/bin/python3"}
    write(os.path.join(d, "files", "wandb-metadata.json"), json.dumps(meta, indent=4))
    # A progress bar redrawn after \r: the run's output keeps its last state.
    write(os.path.join(d, "files", "output.log"), "epoch 1 loss 0.5\n 10%\r 50%\r100%\nepoch 2 loss 0.25\n")
    write(os.path.join(d, "files", "requirements.txt"), "torch==2.3.0\n")
    write(os.path.join(d, "files", "media", "images", "x.png"), b"PNG")
    log = Log()
    log.write(run_record("abc123de", "brave-sun-1", "churn", t0, tags=("baseline", "v2"), notes="first try", group="sweep-a", job_type="train", entity="ada"))
    log.write(config_record({"lr": 0.001}))
    for r, s in zip(rows, range(50)):
        log.write(history_record({"loss": r["loss"], "_step": s}, s))
    log.write(exit_record(0, 24))
    write(os.path.join(d, "run-abc123de.wandb"), bytes(log.buf), mtime=old)
    expected.append({
        "id": "abc123de", "name": "brave-sun-1", "project": "churn", "status": "finished", "start": 1_780_000_000_250, "end": 1_780_000_024_750,
        "params": flat_params(config), "metrics": metrics, "history": "history file",
        "tags": {"wandb.project": "churn", "wandb.entity": "ada", "wandb.group": "sweep-a", "wandb.jobType": "train", "wandb.notes": "first try",
                 "wandb.tags": "baseline, v2", "wandb.host": "node7", "wandb.args": '["--lr","0.001"]', "mlflow.source.name": "train.py",
                 "mlflow.source.git.repoURL": "https://example.com/ada/proj.git", "mlflow.user": "ada"},
        "artifacts": {"config.yaml": None, "media/images/x.png": 3, "requirements.txt": 13, "wandb-history.jsonl": None,
                      "wandb-metadata.json": None, "wandb-summary.json": None},
        "output": "epoch 1 loss 0.5\n100%\nepoch 2 loss 0.25\n", "problems": 0,
    })

    # def456gh: history only in the log, long, one record across blocks.
    t1 = 1_780_100_000.0
    d = os.path.join(root, "offline-run-20260529_171320-def456gh")
    config = {"epochs": 1000, "arch": "resnet"}
    write(os.path.join(d, "files", "wandb-summary.json"), json.dumps({"acc": 0.9, "_step": 999, "_runtime": 100}))
    log = Log()
    log.write(run_record("def456gh", "quiet-moon-2", "churn", t1, host="node8"))
    log.write(config_record({"_wandb": {"cli_version": "0.19.1"}}))
    log.write(config_record(config))
    metrics = {}
    for s in range(1000):
        ts = t1 + s * 0.02
        row = {"acc": s / 1000.0, "_timestamp": ts, "_runtime": s * 0.02}
        if s == 7:
            row["acc"] = float("-inf")
        if s == 100:
            row["text"] = "x" * 40000  # no metric; its record spans two blocks
        log.write(history_record(row, s))
        metrics.setdefault("acc", []).append([s, int(round(ts * 1000)), fmt(row["acc"])])
    log.write(exit_record(1, 100))
    write(os.path.join(d, "run-def456gh.wandb"), bytes(log.buf), mtime=old)
    expected.append({
        "id": "def456gh", "name": "quiet-moon-2", "project": "churn", "status": "failed", "start": 1_780_100_000_000, "end": 1_780_100_100_000,
        "params": flat_params(config), "metrics": metrics, "history": "record log",
        "tags": {"wandb.project": "churn", "wandb.host": "node8"},
        "artifacts": {"wandb-summary.json": None}, "output": "", "problems": 0,
    })

    # ghi789jk: damaged log, summary only, no exit.
    t2 = 1_780_200_000.0
    d = os.path.join(root, "offline-run-20260530_210000-ghi789jk")
    write(os.path.join(d, "files", "wandb-summary.json"), json.dumps({"loss": 0.7, "acc": float("nan"), "_step": 12, "_timestamp": t2 + 60, "_runtime": 60}))
    write(os.path.join(d, "files", "config.yaml"), config_yaml({"seed": 7}, desc=False))
    log = Log()
    log.write(run_record("ghi789jk", "lost-star-3", "vision", t2))
    good = len(log.buf)
    log.write(history_record({"loss": 1.0}, 0))
    buf = bytearray(log.buf)
    buf[good + HEADER + 2] ^= 0xFF  # damage the first history record
    write(os.path.join(d, "run-ghi789jk.wandb"), bytes(buf), mtime=old)
    ts = int(round((t2 + 60) * 1000))
    expected.append({
        "id": "ghi789jk", "name": "lost-star-3", "project": "vision", "status": "crashed", "start": 1_780_200_000_000, "end": 1_780_200_060_000,
        "params": {"seed": "7"}, "metrics": {"acc": [[12, ts, "NaN"]], "loss": [[12, ts, fmt(0.7)]]}, "history": "summary only",
        "tags": {"wandb.project": "vision"}, "artifacts": {"config.yaml": None, "wandb-summary.json": None}, "output": "", "problems": 2,
    })

    # syn00001: a synced run's directory.
    t3 = 1_780_300_000.5
    d = os.path.join(root, "run-20260601_010000-syn00001")
    log = Log()
    log.write(run_record("syn00001", "synced-run", "churn", t3, git=("git@example.com:ada/proj.git", commit)))
    log.write(config_record({"lr": {"desc": None, "value": 0.5}, "layers": [1, 2]}))
    log.write(history_record({"loss": 3.0, "_timestamp": t3 + 1}, 0))
    log.write(history_record({"loss": 2.0, "_timestamp": t3 + 2}, 1))
    log.write(summary_record({"loss": 2.0, "_runtime": 2}))
    log.write(exit_record(0, 2))
    write(os.path.join(d, "run-syn00001.wandb"), bytes(log.buf), mtime=old)
    expected.append({
        "id": "syn00001", "name": "synced-run", "project": "churn", "status": "finished", "start": 1_780_300_000_500, "end": 1_780_300_002_500,
        "params": {"lr": "0.5", "layers": "[1, 2]"},
        "metrics": {"loss": [[0, int(round((t3 + 1) * 1000)), fmt(3.0)], [1, int(round((t3 + 2) * 1000)), fmt(2.0)]]}, "history": "record log",
        "tags": {"wandb.project": "churn", "mlflow.source.git.repoURL": "git@example.com:ada/proj.git"}, "artifacts": {}, "output": "", "problems": 0,
    })

    with open(os.path.join(out, "expected.json"), "w") as f:
        json.dump({"runs": expected}, f, indent=1, sort_keys=True)
        f.write("\n")


if __name__ == "__main__":
    main()
