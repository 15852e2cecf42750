"""MLflow's reading side over git-runs records: Run objects, search_runs
with MLflow's arguments, experiments by name."""

import datetime
import json
import re

from .entities import Experiment, RunData, RunInfo
from .exceptions import InvalidValueError

DEFAULT_ID = "0"  # MLflow's Default experiment: runs recorded without one
DEFAULT_RECORD = "default"  # what git-runs records for them
DEFAULT_NAME = "Default"

_STATUS = {"running": "RUNNING", "finished": "FINISHED", "failed": "FAILED",
           "killed": "KILLED", "crashed": "KILLED"}


def experiment_id(record_experiment):
    """The MLflow experiment id of a record's experiment name: the name
    itself, "0" for the default one."""
    if not record_experiment or record_experiment == DEFAULT_RECORD:
        return DEFAULT_ID
    return record_experiment


def experiment_name(exp_id):
    """The experiment name runs of MLflow experiment id exp_id record, or
    None for the Default experiment."""
    exp_id = str(exp_id)
    if exp_id in (DEFAULT_ID, "", DEFAULT_RECORD):
        return None
    return exp_id


def ms(t):
    """Unix milliseconds of an RFC 3339 time from a record, None for none."""
    if not t:
        return None
    s = t.replace("Z", "+00:00")
    m = re.match(r"^(.*T\d\d:\d\d:\d\d)(\.\d+)?(.*)$", s)
    if m:  # fromisoformat of 3.8 wants 3 or 6 fraction digits
        frac = (m.group(2) or ".0")[1:7].ljust(6, "0")
        s = m.group(1) + "." + frac + m.group(3)
    d = datetime.datetime.fromisoformat(s)
    return int(round(d.timestamp() * 1000))


def artifact_uri(run_id):
    return "gitruns:/%s/artifacts" % run_id


def param_str(v):
    """A param value as MLflow gives it back: str() of what was logged."""
    if isinstance(v, str):
        return v
    if isinstance(v, bool):
        return "True" if v else "False"
    if isinstance(v, float) and v.is_integer() and abs(v) < 1e16:
        return repr(v)
    if isinstance(v, (list, dict)):
        return str(v)
    return str(v)


def flat(d, prefix=""):
    out = {}
    for k, v in (d or {}).items():
        if isinstance(v, dict):
            out.update(flat(v, prefix + k + "."))
        else:
            out[prefix + k] = v
    return out


def run_info(rec):
    return RunInfo(run_id=rec["id"], run_name=rec.get("name") or "",
                   experiment_id=experiment_id(rec.get("experiment")),
                   status=_STATUS.get(rec.get("status"), str(rec.get("status", "")).upper()),
                   start_time=ms(rec.get("started")), end_time=ms(rec.get("ended")),
                   artifact_uri=artifact_uri(rec["id"]), lifecycle_stage="active",
                   user_id=(rec.get("host") or {}).get("user", ""))


def run_data(rec):
    params = {k: param_str(v) for k, v in flat(rec.get("params")).items()}
    metrics = {}
    for k, m in (rec.get("metrics") or {}).items():
        v = m.get("last") if isinstance(m, dict) else m
        metrics[k] = float("nan") if v is None else float(v)
    tags = dict(rec.get("tags") or {})
    # The system tags MLflow sets on every run.
    if rec.get("name"):
        tags.setdefault("mlflow.runName", rec["name"])
    src = rec.get("source") or {}
    if src.get("commit"):
        tags.setdefault("mlflow.source.git.commit", src["commit"])
    user = (rec.get("host") or {}).get("user")
    if user:
        tags.setdefault("mlflow.user", user)
    return RunData(params, metrics, tags)


# ---------------------------------------------------------------- search


def _quote(s):
    return "'" + str(s).replace("'", "''") + "'"


def where_of(experiment_ids=None, filter_string="", experiment_names=None):
    """The git-runs query for MLflow's search arguments. MLflow's filter
    syntax is git-runs' query language (docs/QUERY.md): it goes as it is;
    experiments become an experiment IN (...) clause."""
    parts = []
    names = []
    if experiment_ids is not None:
        if isinstance(experiment_ids, (str, int)):
            experiment_ids = [experiment_ids]
        for i in experiment_ids:
            n = experiment_name(i)
            names.append(n if n is not None else DEFAULT_RECORD)
    if experiment_names is not None:
        if isinstance(experiment_names, str):
            experiment_names = [experiment_names]
        for n in experiment_names:
            names.append(DEFAULT_RECORD if n == DEFAULT_NAME else n)
    if names:
        parts.append("experiment IN (%s)" % ", ".join(_quote(n) for n in names))
    if filter_string and filter_string.strip():
        parts.append("(" + filter_string + ")")
    return " and ".join(parts)


_ORDER = re.compile(r"^\s*(.+?)(?:\s+(ASC|DESC))?\s*$", re.I)


def sort_of(order_by):
    """The git-runs --sort key of MLflow's order_by (its first clause: ls
    sorts by one key; MLflow's later clauses only break ties)."""
    if not order_by:
        return None
    if isinstance(order_by, str):
        order_by = [order_by]
    m = _ORDER.match(order_by[0])
    if not m:
        raise InvalidValueError("invalid order_by clause %r" % order_by[0])
    key = m.group(1).strip()
    if key.startswith("attributes."):
        key = key[len("attributes."):]
    key = {"start_time": "started", "end_time": "ended", "run_name": "name",
           "tags.`mlflow.runName`": "name", "tags.mlflow.runName": "name"}.get(key, key)
    key = re.sub(r"`([A-Za-z0-9_]+)`", r"\1", key)
    return ("-" if (m.group(2) or "").upper() == "DESC" else "") + key


def records(call, where=None, sort=None, limit=None):
    args = ["ls", "--json"]
    if where:
        args += ["--where", where]
    if sort:
        if sort.startswith("-"):
            args += ["--sort", sort[1:], "--desc"]
        else:
            args += ["--sort", sort]
    if limit:
        args += ["-n", str(int(limit))]
    return json.loads(call(args) or "[]")


def to_frame(runs):
    """MLflow's search_runs DataFrame: run_id, experiment_id, status,
    artifact_uri, start_time, end_time (pandas UTC times), metrics.*,
    params.* (strings) and tags.* columns."""
    import pandas  # noqa: only when asked for, as MLflow needs it
    rows = []
    for r in runs:
        row = {"run_id": r.info.run_id, "experiment_id": r.info.experiment_id,
               "status": r.info.status, "artifact_uri": r.info.artifact_uri,
               "start_time": r.info.start_time, "end_time": r.info.end_time}
        for k, v in r.data.metrics.items():
            row["metrics." + k] = v
        for k, v in r.data.params.items():
            row["params." + k] = v
        for k, v in r.data.tags.items():
            row["tags." + k] = v
        rows.append(row)
    df = pandas.DataFrame(rows, columns=None if rows else
                          ["run_id", "experiment_id", "status", "artifact_uri", "start_time", "end_time"])
    for col in ("start_time", "end_time"):
        df[col] = pandas.to_datetime(df[col], unit="ms", utc=True)
    return df


def experiments(call, created=()):
    """Every experiment runs carry, and those created in this process: by
    name, the Default one first."""
    names = set(created)
    for r in records(call):
        names.add(r.get("experiment") or DEFAULT_RECORD)
    names.add(DEFAULT_RECORD)
    out = [Experiment(DEFAULT_ID, DEFAULT_NAME, artifact_location="gitruns:/")]
    for n in sorted(names - {DEFAULT_RECORD}):
        out.append(Experiment(n, n, artifact_location="gitruns:/"))
    return out

