#!/usr/bin/env python3
"""Write an MLflow file store and an MLflow SQLite database holding the same
runs, in the layouts and schema MLflow itself writes, for git runs import's
tests; and expected.json, what they hold, for the tests to check against.

Standard library only. Usage:

    gen.py OUTDIR [--long N] [--commit HASH] [--extra]

writes OUTDIR/mlruns/, OUTDIR/mlflow.db (with its artifacts under
OUTDIR/mlartifacts/, as mlflow server keeps them) and OUTDIR/expected.json.
--long sets the points of the one long history (default 1000; the tests
ask for 100000); --commit the git commit the first run names; --extra
writes the store as it is after more work: one more run, and two more
points and a tag in the first. The output depends on nothing but the
arguments.

What MLflow does that this follows (MLflow 2.x/3.x, file_store.py and
sqlalchemy_store.py):
- mlruns/<exp>/meta.yaml and mlruns/<exp>/<run>/meta.yaml are PyYAML's
  safe_dump of a flat dict, keys sorted; run status is a number there
  (1 RUNNING, 3 FINISHED, 4 FAILED, 5 KILLED), a name in the database.
- params/<key>, tags/<key>: the value, no newline; a key with '/' is a
  nested path. metrics/<key>: "<timestamp> <value> <step>" lines, the
  value as Python's repr of the float (nan, inf, -inf).
- Deleting a run sets lifecycle_stage: deleted (and deleted_time); deleting
  an experiment moves its directory to mlruns/.trash/.
- The database keeps NaN as value 0 with is_nan 1, and +-inf as
  +-1.7976931348623157e308 (SQL has no infinities).
"""

import json
import math
import os
import shutil
import sqlite3
import sys

BASE = 1700000000000  # ms
MAXF = 1.7976931348623157e308


def q(s):
    """PyYAML's quoting of a string scalar, for the strings used here."""
    if (s == "" or s.isdigit() or s in ("null", "true", "false", "~") or s[0] in "-?:,[]{}#&*!|>'\"%@`"
            or ": " in s or " #" in s or s != s.strip() or "\n" in s):
        return "'" + s.replace("'", "''") + "'"
    return s


def yaml_dump(d):
    out = []
    for k in sorted(d):
        v = d[k]
        if v is None:
            out.append(f"{k}: null")
        elif isinstance(v, list):
            out.append(f"{k}: []")
        elif isinstance(v, int):
            out.append(f"{k}: {v}")
        else:
            out.append(f"{k}: {q(v)}")
    return "\n".join(out) + "\n"


def experiments():
    return [
        {"id": "0", "name": "Default", "deleted": False, "tags": {}},
        {"id": "1", "name": "churn", "deleted": False, "tags": {"team": "growth"}},
        {"id": "2", "name": "sweep lr", "deleted": False, "tags": {}},
        {"id": "3", "name": "old ideas", "deleted": True, "tags": {}},
    ]


def runs(long_points, commit="0123456789abcdef0123456789abcdef01234567", extra=False):
    """The runs, as MLflow would hold them."""
    R = []

    def add(rid, exp, name, status, start, end, params=None, tags=None, metrics=None,
            artifacts=None, deleted=False, user="ada"):
        t = {"mlflow.user": user, "mlflow.source.name": "train.py", "mlflow.source.type": "LOCAL"}
        if name:
            t["mlflow.runName"] = name
        t.update(tags or {})
        R.append({
            "id": rid, "exp": exp, "name": name, "status": status,
            "start": BASE + start, "end": None if end is None else BASE + end,
            "params": params or {}, "tags": t, "metrics": metrics or {},
            "artifacts": artifacts or {}, "deleted": deleted, "user": user,
        })

    def hist(n, f, t0=0, dt=1000):
        return [(BASE + t0 + i * dt, f(i), i) for i in range(n)]

    add("a1b2c3d4e5f60718293a4b5c6d7e8f90", "0", "baseline", "FINISHED", 0, 60000,
        params={"n_estimators": "100", "max_depth": "3", "lr": "0.01", "optimizer": "adam",
                "use_bias": "true", "scale": "1e3", "seed": "007", "layers": "[64, 32]",
                "model/depth": "4", "note": "it's a \"test\""},
        tags=dict({"mlflow.source.git.commit": commit, "stage": "dev", "multi.line": "first\nsecond"},
                  **({"reviewed": "yes"} if extra else {})),
        metrics={"accuracy": hist(7 if extra else 5, lambda i: 0.5 + i / 20),
                 "train/loss": hist(5, lambda i: 1.0 / (i + 1)),
                 "special": [(BASE + 1, float("nan"), 0), (BASE + 2, float("inf"), 1),
                             (BASE + 3, float("-inf"), 2), (BASE + 4, -0.0, 3),
                             (BASE + 5, 1e-300, 4), (BASE + 6, 123456789.125, 5)]},
        artifacts={"model.txt": b"weights\n", "plots/loss.csv": b"step,loss\n0,1.0\n1,0.5\n",
                   "deep/er/notes.md": b"# notes\n"})
    add("b1b2c3d4e5f60718293a4b5c6d7e8f91", "0", "crashed-one", "FAILED", 70000, 75000,
        params={"lr": "0.1"}, metrics={"accuracy": hist(2, lambda i: 0.1 * i, 70000)})
    add("c1b2c3d4e5f60718293a4b5c6d7e8f92", "1", "long", "FINISHED", 100000, 100000 + long_points * 10,
        params={"epochs": str(long_points)},
        metrics={"loss": hist(long_points, lambda i: 1.0 / (1 + i * 0.01), 100000, 10),
                 "repeated": [(BASE + 100000, 1.0, 0), (BASE + 100000, 1.0, 0), (BASE + 100001, 2.0, 0)]})
    add("d1b2c3d4e5f60718293a4b5c6d7e8f93", "1", "deleted-one", "FINISHED", 200000, 201000,
        params={"lr": "0.5"}, metrics={"accuracy": hist(3, lambda i: 0.2)}, deleted=True)
    add("e1b2c3d4e5f60718293a4b5c6d7e8f94", "1", "still-going", "RUNNING", 300000, None,
        metrics={"accuracy": hist(3, lambda i: 0.3)})
    add("f1b2c3d4e5f60718293a4b5c6d7e8f95", "1", "", "KILLED", 310000, None,
        metrics={"accuracy": hist(3, lambda i: 0.4, 310000)})
    # A sweep: a parent and its trials, one of which was killed.
    parent = "aa000000000000000000000000000001"
    add(parent, "2", "sweep", "FINISHED", 400000, 500000, params={"trials": "3"},
        metrics={"best_accuracy": [(BASE + 499000, 0.9, 0)]})
    for i, lr in enumerate(["0.1", "0.01", "0.001"]):
        add(f"aa00000000000000000000000000001{i}", "2", f"trial-{i}", "KILLED" if i == 2 else "FINISHED",
            400000 + i * 30000, 430000 + i * 30000, params={"lr": lr},
            tags={"mlflow.parentRunId": parent},
            metrics={"accuracy": hist(10, lambda j, i=i: 0.5 + 0.04 * j - 0.01 * i, 400000 + i * 30000)})
    if extra:
        add("dd000000000000000000000000000001", "1", "late", "FINISHED", 700000, 701000,
            params={"lr": "0.2"}, metrics={"accuracy": hist(4, lambda i: 0.7, 700000)})
    add("bb000000000000000000000000000001", "3", "in-the-trash", "FINISHED", 600000, 601000,
        params={"lr": "1"}, metrics={"accuracy": hist(2, lambda i: 0.6, 600000)})
    return R


def rep(v):
    """Python's repr of a float, as MLflow writes metric values."""
    return repr(float(v))


def write_file_store(root, exps, rs, corrupt):
    if os.path.exists(root):
        shutil.rmtree(root)
    os.makedirs(os.path.join(root, ".trash"))
    byid = {e["id"]: e for e in exps}
    for e in exps:
        d = os.path.join(root, ".trash" if e["deleted"] else "", e["id"])
        os.makedirs(d)
        with open(os.path.join(d, "meta.yaml"), "w") as f:
            f.write(yaml_dump({
                "artifact_location": "file:///home/ada/mlruns/" + e["id"],
                "creation_time": BASE, "experiment_id": e["id"], "last_update_time": BASE,
                "lifecycle_stage": "deleted" if e["deleted"] else "active", "name": e["name"],
            }))
        for k, v in e["tags"].items():
            os.makedirs(os.path.join(d, "tags"), exist_ok=True)
            with open(os.path.join(d, "tags", k), "w") as f:
                f.write(v)
    status = {"RUNNING": 1, "SCHEDULED": 2, "FINISHED": 3, "FAILED": 4, "KILLED": 5}
    for r in rs:
        e = byid[r["exp"]]
        d = os.path.join(root, ".trash" if e["deleted"] else "", r["exp"], r["id"])
        os.makedirs(os.path.join(d, "metrics"))
        os.makedirs(os.path.join(d, "params"))
        os.makedirs(os.path.join(d, "tags"))
        os.makedirs(os.path.join(d, "artifacts"))
        with open(os.path.join(d, "meta.yaml"), "w") as f:
            f.write(yaml_dump({
                "artifact_uri": f"file:///home/ada/mlruns/{r['exp']}/{r['id']}/artifacts",
                "end_time": r["end"], "entry_point_name": "", "experiment_id": r["exp"],
                "lifecycle_stage": "deleted" if r["deleted"] else "active",
                "run_id": r["id"], "run_name": r["name"], "run_uuid": r["id"],
                "source_name": "", "source_type": 4, "source_version": "",
                "start_time": r["start"], "status": status[r["status"]], "tags": [],
                "user_id": r["user"], "deleted_time": r["start"] + 5000 if r["deleted"] else None,
            }))
        for kind in ("params", "tags"):
            for k, v in r[kind].items():
                p = os.path.join(d, kind, k)
                os.makedirs(os.path.dirname(p), exist_ok=True)
                with open(p, "w") as f:
                    f.write(v)
        for k, pts in r["metrics"].items():
            p = os.path.join(d, "metrics", k)
            os.makedirs(os.path.dirname(p), exist_ok=True)
            with open(p, "w") as f:
                for ts, v, step in pts:
                    f.write(f"{ts} {rep(v)} {step}\n")
        for k, data in r["artifacts"].items():
            p = os.path.join(d, "artifacts", k)
            os.makedirs(os.path.dirname(p), exist_ok=True)
            with open(p, "wb") as f:
                f.write(data)
    if corrupt:
        # A metric file with a bad line in the middle: the good lines
        # stand, the bad one is named.
        p = os.path.join(root, "0", "b1b2c3d4e5f60718293a4b5c6d7e8f91", "metrics", "accuracy")
        with open(p) as f:
            lines = f.readlines()
        lines.insert(1, f"{BASE + 72000} not-a-number 2\n")
        with open(p, "w") as f:
            f.writelines(lines)
        # A run whose meta.yaml is not YAML at all.
        d = os.path.join(root, "1", "cc000000000000000000000000000bad")
        os.makedirs(os.path.join(d, "metrics"))
        with open(os.path.join(d, "meta.yaml"), "w") as f:
            f.write("{{{ this is not: yaml\n\x00\x01")


SCHEMA = """
CREATE TABLE alembic_version (version_num VARCHAR(32) NOT NULL, CONSTRAINT alembic_version_pkc PRIMARY KEY (version_num));
CREATE TABLE experiments (
	experiment_id INTEGER NOT NULL, name VARCHAR(256) NOT NULL, artifact_location VARCHAR(256),
	lifecycle_stage VARCHAR(32), creation_time BIGINT, last_update_time BIGINT,
	CONSTRAINT experiment_pk PRIMARY KEY (experiment_id), UNIQUE (name),
	CONSTRAINT experiments_lifecycle_stage CHECK (lifecycle_stage IN ('active', 'deleted')));
CREATE TABLE experiment_tags (
	key VARCHAR(250) NOT NULL, value VARCHAR(5000), experiment_id INTEGER NOT NULL,
	CONSTRAINT experiment_tag_pk PRIMARY KEY (key, experiment_id),
	FOREIGN KEY(experiment_id) REFERENCES experiments (experiment_id));
CREATE TABLE runs (
	run_uuid VARCHAR(32) NOT NULL, name VARCHAR(250), source_type VARCHAR(20), source_name VARCHAR(500),
	entry_point_name VARCHAR(50), user_id VARCHAR(256), status VARCHAR(9), start_time BIGINT,
	end_time BIGINT, source_version VARCHAR(50), lifecycle_stage VARCHAR(20), artifact_uri VARCHAR(200),
	experiment_id INTEGER, deleted_time BIGINT,
	CONSTRAINT run_pk PRIMARY KEY (run_uuid),
	CONSTRAINT source_type CHECK (source_type IN ('NOTEBOOK', 'JOB', 'LOCAL', 'UNKNOWN', 'PROJECT')),
	CONSTRAINT runs_lifecycle_stage CHECK (lifecycle_stage IN ('active', 'deleted')),
	CONSTRAINT status CHECK (status IN ('SCHEDULED', 'FAILED', 'FINISHED', 'RUNNING', 'KILLED')),
	FOREIGN KEY(experiment_id) REFERENCES experiments (experiment_id));
CREATE TABLE tags (
	key VARCHAR(250) NOT NULL, value VARCHAR(8000), run_uuid VARCHAR(32) NOT NULL,
	CONSTRAINT tag_pk PRIMARY KEY (key, run_uuid), FOREIGN KEY(run_uuid) REFERENCES runs (run_uuid));
CREATE INDEX index_tags_run_uuid ON tags (run_uuid);
CREATE TABLE params (
	key VARCHAR(250) NOT NULL, value VARCHAR(8000) NOT NULL, run_uuid VARCHAR(32) NOT NULL,
	CONSTRAINT param_pk PRIMARY KEY (key, run_uuid), FOREIGN KEY(run_uuid) REFERENCES runs (run_uuid));
CREATE INDEX index_params_run_uuid ON params (run_uuid);
CREATE TABLE metrics (
	key VARCHAR(250) NOT NULL, value FLOAT NOT NULL, timestamp BIGINT NOT NULL, run_uuid VARCHAR(32) NOT NULL,
	step BIGINT DEFAULT '0' NOT NULL, is_nan BOOLEAN DEFAULT '0' NOT NULL,
	CONSTRAINT metric_pk PRIMARY KEY (key, timestamp, step, run_uuid, value, is_nan),
	FOREIGN KEY(run_uuid) REFERENCES runs (run_uuid), CHECK (is_nan IN (0, 1)));
CREATE INDEX index_metrics_run_uuid ON metrics (run_uuid);
CREATE TABLE latest_metrics (
	key VARCHAR(250) NOT NULL, value FLOAT NOT NULL, timestamp BIGINT, step BIGINT NOT NULL,
	is_nan BOOLEAN NOT NULL, run_uuid VARCHAR(32) NOT NULL,
	CONSTRAINT latest_metric_pk PRIMARY KEY (key, run_uuid),
	FOREIGN KEY(run_uuid) REFERENCES runs (run_uuid), CHECK (is_nan IN (0, 1)));
CREATE INDEX index_latest_metrics_run_uuid ON latest_metrics (run_uuid);
CREATE TABLE datasets (
	dataset_uuid VARCHAR(36) NOT NULL, experiment_id INTEGER NOT NULL, name VARCHAR(500) NOT NULL,
	digest VARCHAR(36) NOT NULL, dataset_source_type VARCHAR(36) NOT NULL, dataset_source TEXT NOT NULL,
	dataset_schema TEXT, dataset_profile TEXT,
	CONSTRAINT dataset_pk PRIMARY KEY (experiment_id, name, digest),
	FOREIGN KEY(experiment_id) REFERENCES experiments (experiment_id) ON DELETE CASCADE);
CREATE TABLE inputs (
	input_uuid VARCHAR(36) NOT NULL, source_type VARCHAR(36) NOT NULL, source_id VARCHAR(36) NOT NULL,
	destination_type VARCHAR(36) NOT NULL, destination_id VARCHAR(36) NOT NULL, step BIGINT DEFAULT '0' NOT NULL,
	CONSTRAINT inputs_pk PRIMARY KEY (source_type, source_id, destination_type, destination_id));
"""

# The revision MLflow's migrations leave a database at, for the tables
# above (runs, params, tags, metrics with step and is_nan, latest_metrics,
# experiments with creation and update times, deleted_time, inputs.step).
ALEMBIC_VERSION = "6953534de441"


def write_sqlite(path, exps, rs, corrupt):
    if os.path.exists(path):
        os.remove(path)
    arts = os.path.join(os.path.dirname(path), "mlartifacts")
    if os.path.exists(arts):
        shutil.rmtree(arts)
    for r in rs:
        for k, data in r["artifacts"].items():
            p = os.path.join(arts, r["exp"], r["id"], "artifacts", k)
            os.makedirs(os.path.dirname(p), exist_ok=True)
            with open(p, "wb") as f:
                f.write(data)
    db = sqlite3.connect(path)
    # Written in one go: nothing to keep safe from a crash half-way.
    db.execute("PRAGMA journal_mode = OFF")
    db.execute("PRAGMA synchronous = OFF")
    db.executescript(SCHEMA)
    db.execute("INSERT INTO alembic_version VALUES (?)", (ALEMBIC_VERSION,))
    for e in exps:
        db.execute("INSERT INTO experiments VALUES (?,?,?,?,?,?)",
                   (int(e["id"]), e["name"], "mlflow-artifacts:/" + e["id"],
                    "deleted" if e["deleted"] else "active", BASE, BASE))
        for k, v in e["tags"].items():
            db.execute("INSERT INTO experiment_tags VALUES (?,?,?)", (k, v, int(e["id"])))
    for r in rs:
        db.execute("INSERT INTO runs VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
                   (r["id"], r["name"], "LOCAL", "", "", r["user"], r["status"], r["start"], r["end"], "",
                    "deleted" if r["deleted"] else "active",
                    f"mlflow-artifacts:/{r['exp']}/{r['id']}/artifacts", int(r["exp"]),
                    r["start"] + 5000 if r["deleted"] else None))
        for k, v in r["params"].items():
            db.execute("INSERT INTO params VALUES (?,?,?)", (k, v, r["id"]))
        for k, v in r["tags"].items():
            db.execute("INSERT INTO tags VALUES (?,?,?)", (k, v, r["id"]))
        for k, pts in r["metrics"].items():
            latest = None
            for ts, v, step in pts:
                is_nan = math.isnan(v)
                sv = 0.0 if is_nan else (MAXF if v == math.inf else -MAXF if v == -math.inf else v)
                # MLflow's primary key keeps one row of a point logged twice.
                db.execute("INSERT OR IGNORE INTO metrics VALUES (?,?,?,?,?,?)", (k, sv, ts, r["id"], step, int(is_nan)))
                if latest is None or (step, ts) >= (latest[2], latest[1]):
                    latest = (sv, ts, step, int(is_nan))
            db.execute("INSERT INTO latest_metrics VALUES (?,?,?,?,?,?)", (k, latest[0], latest[1], latest[2], latest[3], r["id"]))
    if corrupt:
        # A run whose status MLflow never writes, and a tag value that is
        # not text: the run, and the tag, are named and left out. The
        # schema's check would refuse the status: the database is damaged.
        db.execute("PRAGMA ignore_check_constraints = ON")
        db.execute("INSERT INTO runs VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
                   ("cc000000000000000000000000000bad", "bad-status", "LOCAL", "", "", "ada", "DONE",
                    BASE, BASE + 1, "", "active", "", 1, None))
        db.execute("INSERT INTO tags VALUES (?,?,?)", ("binary", b"\xff\xfe", "a1b2c3d4e5f60718293a4b5c6d7e8f90"))
    db.commit()
    db.close()


def expected(exps, rs):
    byid = {e["id"]: e for e in exps}

    def val(v):
        return v if math.isfinite(v) else repr(v)

    out = []
    for r in rs:
        out.append({
            "id": r["id"], "experiment": byid[r["exp"]]["name"], "experiment_id": r["exp"],
            "name": r["name"], "status": r["status"], "start": r["start"], "end": r["end"],
            "deleted": r["deleted"] or byid[r["exp"]]["deleted"], "user": r["user"],
            "params": r["params"], "tags": r["tags"],
            "metrics": {k: [[ts, val(v), step] for ts, v, step in pts] for k, pts in r["metrics"].items()},
            "artifacts": {k: len(v) for k, v in r["artifacts"].items()},
        })
    return out


def main():
    args = sys.argv[1:]
    if not args:
        sys.exit("usage: gen.py OUTDIR [--long N]")
    out, long_points, commit = args[0], 1000, "0123456789abcdef0123456789abcdef01234567"
    if "--long" in args:
        long_points = int(args[args.index("--long") + 1])
    if "--commit" in args:
        commit = args[args.index("--commit") + 1]
    os.makedirs(out, exist_ok=True)
    exps, rs = experiments(), runs(long_points, commit, "--extra" in args)
    write_file_store(os.path.join(out, "mlruns"), exps, rs, corrupt=True)
    write_sqlite(os.path.join(out, "mlflow.db"), exps, rs, corrupt=True)
    with open(os.path.join(out, "expected.json"), "w") as f:
        # Indented, the committed one reads well; a long one is written
        # by the C encoder, many times faster.
        json.dump({"experiments": exps, "runs": expected(exps, rs)}, f, indent=1 if long_points <= 1000 else None, sort_keys=True)
        f.write("\n")


if __name__ == "__main__":
    main()
