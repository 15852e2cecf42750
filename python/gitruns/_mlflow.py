"""MLflow's reading side over git-runs records: Run objects, search_runs
with MLflow's arguments, and experiments as the repository keeps them
(git runs experiment ... --json), with their numeric ids."""

import datetime
import hashlib
import json
import re

from .entities import Experiment, RunData, RunInfo
from .exceptions import (GitRunsError, InvalidValueError, MlflowException, INVALID_PARAMETER_VALUE,
                         RESOURCE_ALREADY_EXISTS, RESOURCE_DOES_NOT_EXIST)

DEFAULT_ID = "0"  # MLflow's Default experiment: runs recorded without one
DEFAULT_RECORD = "default"  # what git-runs records for them
DEFAULT_NAME = "Default"

_STATUS = {"running": "RUNNING", "finished": "FINISHED", "failed": "FAILED",
           "killed": "KILLED", "crashed": "KILLED"}


# ---------------------------------------------------------------- experiments


def implicit_id(name):
    """The id of the experiment of the runs recorded under name when no
    experiment claims it: derived from the name, the same on every clone
    (docs/FORMAT.md, "Experiments")."""
    n = int.from_bytes(hashlib.sha256(name.encode("utf-8")).digest()[:8], "big")
    return str(10 ** 17 + n % (9 * 10 ** 17))


def experiment_list(call, filter_string=None):
    """Every experiment, deleted ones too, as git runs experiment ls --json
    gives them: dicts with MLflow's field names."""
    args = ["experiment", "ls", "--all", "--json"]
    if filter_string:
        args += ["--filter", filter_string]
    return json.loads(call(args) or "[]")


def show_experiment(call, spec):
    """The experiment spec names (an id, else a current name) as a dict,
    None when there is none."""
    try:
        return json.loads(call(["experiment", "show", "--json", "--", str(spec)]))
    except GitRunsError as e:
        if e.error_code == RESOURCE_DOES_NOT_EXIST:
            return None
        raise


def create_experiment(call, name, tags=None):
    """Creates experiment name with tags and returns it as a dict. A name
    an experiment has or had (before a rename: its runs still belong
    there) is RESOURCE_ALREADY_EXISTS, as MLflow answers."""
    args = ["experiment", "create", "--json"]
    for k, v in (tags or {}).items():
        args += ["-t", "%s=%s" % (k, v)]
    try:
        return json.loads(call(args + ["--", str(name)]))
    except GitRunsError as e:
        if "already exists" in e.message or "before it was renamed" in e.message:
            raise MlflowException(e.message, RESOURCE_ALREADY_EXISTS)
        raise


def to_experiment(j):
    """An entities.Experiment of a dict of git runs experiment --json."""
    return Experiment(j["experiment_id"], j["name"], artifact_location="gitruns:/",
                      lifecycle_stage=j.get("lifecycle_stage") or "active", tags=j.get("tags"),
                      creation_time=j.get("creation_time"), last_update_time=j.get("last_update_time"))


def _age(j):
    # As the library orders experiments that claim one name: created
    # first, then the smaller id.
    i = j["experiment_id"]
    return (j.get("creation_time") or -1, len(i), i)


class ExperimentIndex(object):
    """Which experiment each name that runs record belongs to, as the
    library tells it: the experiment whose current name it is, else one
    that had it before a rename, else the implicit one of the name."""

    def __init__(self, exps):
        self.by_id = {j["experiment_id"]: j for j in exps}
        self._ids = {}
        order = sorted(exps, key=_age)
        for j in order:
            self._ids.setdefault(j["name"], j["experiment_id"])
        for j in order:
            for n in j.get("former_names") or ():
                self._ids.setdefault(n, j["experiment_id"])

    def id_of(self, record_experiment):
        name = record_experiment or DEFAULT_RECORD
        i = self._ids.get(name)
        if i is not None:
            return i
        return DEFAULT_ID if name == DEFAULT_RECORD else implicit_id(name)

    def named(self, name):
        """The experiment whose current name is name, or None."""
        found = [j for j in self.by_id.values() if j["name"] == name]
        return min(found, key=_age) if found else None

    def names_of(self, exp_id):
        """The names runs of experiment exp_id may be recorded under."""
        names = {n for n, i in self._ids.items() if i == exp_id}
        if exp_id == DEFAULT_ID and DEFAULT_RECORD not in self._ids:
            names.add(DEFAULT_RECORD)
        return names


class LazyIndex(object):
    """An ExperimentIndex read from the binary at its first use, once: the
    runs of one search share it, and runs nobody asks the experiment of
    cost nothing."""

    def __init__(self, call, index=None):
        self._call = call
        self._index = index

    def id_of(self, record_experiment):
        if self._index is None:
            self._index = ExperimentIndex(experiment_list(self._call))
        return self._index.id_of(record_experiment)


def experiment_id(record_experiment, experiments=None):
    """A function that tells the MLflow experiment id of a record's
    experiment name, through experiments (a LazyIndex; a new one when
    None)."""
    if experiments is None:
        from ._run import _call
        experiments = LazyIndex(_call)
    return lambda: experiments.id_of(record_experiment)


def record_experiment(call, exp_id):
    """The experiment name a run started in experiment exp_id records,
    and the id (None when not known yet). exp_id is an id, or a name that
    no id is, as gitruns took names as ids before it kept experiments: an
    experiment of that name, or the name as it is. An unknown numeric id,
    or a deleted experiment, is refused, as MLflow refuses them."""
    exp_id = str(exp_id)
    if exp_id in (DEFAULT_ID, "", DEFAULT_RECORD):
        return DEFAULT_RECORD, DEFAULT_ID
    j = show_experiment(call, exp_id)
    if j is None:
        if exp_id.isdigit():
            raise MlflowException("No Experiment with id=%s exists" % exp_id, RESOURCE_DOES_NOT_EXIST)
        return exp_id, None
    if j.get("lifecycle_stage") == "deleted":
        raise MlflowException("The experiment %s must be in the 'active' state. Current state is deleted."
                              % j["experiment_id"], INVALID_PARAMETER_VALUE)
    return j["name"], j["experiment_id"]


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


def run_info(rec, experiments=None):
    return RunInfo(run_id=rec["id"], run_name=rec.get("name") or "",
                   experiment_id=experiment_id(rec.get("experiment"), experiments),
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


def where_of(call, experiment_ids=None, filter_string="", experiment_names=None):
    """The git-runs query for MLflow's search arguments, and the
    ExperimentIndex read for it (None when no experiment was named).
    MLflow's filter syntax is git-runs' query language (docs/QUERY.md): it
    goes as it is; experiments become an experiment IN (...) clause of the
    names their runs are recorded under. The query is None when the
    experiments named have no runs at all."""
    if experiment_ids is None and experiment_names is None:
        return _and([], filter_string), None
    index = ExperimentIndex(experiment_list(call))
    names = set()
    if isinstance(experiment_ids, (str, int)):
        experiment_ids = [experiment_ids]
    for i in experiment_ids or ():
        names |= _names_of_id(index, str(i))
    if isinstance(experiment_names, str):
        experiment_names = [experiment_names]
    for n in experiment_names or ():
        j = index.named(n)
        names |= index.names_of(j["experiment_id"]) if j else {n}
    if not names:
        return None, index
    clause = "experiment IN (%s)" % ", ".join(_quote(n) for n in sorted(names))
    return _and([clause], filter_string), index


def _names_of_id(index, i):
    if i in index.by_id or i == DEFAULT_ID:
        return index.names_of(i)
    if i.isdigit():
        return set()  # no such experiment: no runs
    # A name given as an id, as gitruns took them before.
    if i == DEFAULT_RECORD:
        return index.names_of(DEFAULT_ID)
    j = index.named(i)
    return index.names_of(j["experiment_id"]) if j else {i}


def _and(parts, filter_string):
    if filter_string and filter_string.strip():
        parts = parts + ["(" + filter_string + ")"]
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


def search_experiments(call, view_type=1, max_results=None, filter_string=None, order_by=None):
    """MLflow's search_experiments over git runs experiment ls: view_type 1
    active, 2 deleted, 3 all; filter_string as MLflow's (name, tags.KEY,
    creation_time, last_update_time); order_by's clauses over name,
    experiment_id, creation_time and last_update_time, ties by id, last
    first, as MLflow breaks them; else the library's order, created last
    first."""
    exps = experiment_list(call, filter_string)
    if view_type in (1, 2):
        want = "active" if view_type == 1 else "deleted"
        exps = [j for j in exps if j.get("lifecycle_stage") == want]
    if order_by:
        if isinstance(order_by, str):
            order_by = [order_by]
        exps = _sort_experiments(exps, order_by)
    if max_results:
        exps = exps[:int(max_results)]
    return [to_experiment(j) for j in exps]


_EXP_KEYS = {"name": lambda j: j["name"],
             "experiment_id": lambda j: (len(j["experiment_id"]), j["experiment_id"]),
             "creation_time": lambda j: j.get("creation_time") or 0,
             "last_update_time": lambda j: j.get("last_update_time") or 0}


def _sort_experiments(exps, order_by):
    # Sorted by the last clause first: the stable sort leaves the first deciding.
    exps = sorted(exps, key=_EXP_KEYS["experiment_id"], reverse=True)
    for clause in reversed(order_by):
        m = _ORDER.match(clause)
        key = m.group(1).strip() if m else clause
        for p in ("attributes.", "attribute."):
            if key.startswith(p):
                key = key[len(p):]
        if key not in _EXP_KEYS:
            raise InvalidValueError("invalid order_by key %r for experiments: use name, experiment_id, "
                                    "creation_time or last_update_time" % key)
        exps = sorted(exps, key=_EXP_KEYS[key], reverse=(m.group(2) or "").upper() == "DESC")
    return exps
