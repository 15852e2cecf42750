"""MlflowClient: MLflow's lower-level client, over the git-runs binary.

Every call names its run by id (a full or short id, or a name). A run this
process logs into with start_run takes points through its journal, as the
fluent calls do; any other run through `git-runs metric`, `param`, `tag` and
`artifact`, one that has ended too (as an addition to it).

Experiments are the repository's (git runs experiment): ids are numeric
strings, as MLflow's, the same on every clone ("0" is the Default
experiment, that of runs recorded without one). create_experiment stores
one at once; a name no id is still works where an id is asked for, as
gitruns took names as ids before.
"""

import json
import os
import tempfile

from . import _mlflow, _run
from .entities import FileInfo, Metric, Run, ViewType
from .exceptions import InvalidValueError, MlflowException, RESOURCE_DOES_NOT_EXIST

class PagedList(list):
    """A list with MLflow's token attribute (always None: one page)."""

    token = None


def _call(args):
    return _run._call(args)


class MlflowClient(object):
    """MLflow's MlflowClient with the methods scripts use. tracking_uri and
    registry_uri are accepted and ignored: runs go to the git repository
    of the current directory."""

    def __init__(self, tracking_uri=None, registry_uri=None):
        self.tracking_uri = tracking_uri
        self._registry_uri = registry_uri

    # experiments -------------------------------------------------------

    def create_experiment(self, name, artifact_location=None, tags=None):
        """Creates experiment name (git runs experiment create) and returns
        its id. artifact_location is accepted and ignored: artifacts stay
        with their runs. A name an experiment has, or had before a rename,
        is RESOURCE_ALREADY_EXISTS."""
        return _mlflow.create_experiment(_call, name, tags)["experiment_id"]

    def search_experiments(self, view_type=ViewType.ACTIVE_ONLY, max_results=None,
                           filter_string=None, order_by=None, page_token=None):
        """The repository's experiments, created last first unless
        order_by; filter_string is MLflow's (name, tags.KEY,
        creation_time, last_update_time)."""
        return PagedList(_mlflow.search_experiments(_call, view_type, max_results, filter_string, order_by))

    def get_experiment(self, experiment_id):
        """The experiment of that id (or, as before, of that name when no
        id is it), deleted or not; RESOURCE_DOES_NOT_EXIST if none."""
        j = _mlflow.show_experiment(_call, experiment_id)
        if j is None:
            raise MlflowException("No Experiment with id=%s exists" % experiment_id, RESOURCE_DOES_NOT_EXIST)
        return _mlflow.to_experiment(j)

    def get_experiment_by_name(self, name):
        """The experiment whose current name is name, deleted or not, or
        None."""
        j = _mlflow.show_experiment(_call, name)
        if j is not None and j["name"] != name:  # name reads as another experiment's id
            j = _mlflow.ExperimentIndex(_mlflow.experiment_list(_call)).named(name)
        return None if j is None else _mlflow.to_experiment(j)

    def delete_experiment(self, experiment_id):
        """Marks the experiment deleted, as MLflow does: its runs stay, and
        restore_experiment brings it back. Default cannot be deleted."""
        self._edit("rm", experiment_id)

    def restore_experiment(self, experiment_id):
        self._edit("restore", experiment_id)

    def rename_experiment(self, experiment_id, new_name):
        """Renames it; its runs stay in it."""
        self._edit("rename", experiment_id, str(new_name))

    def set_experiment_tag(self, experiment_id, key, value):
        _run._check_key("tag", key)
        self._edit("tag", experiment_id, "%s=%s" % (key, value))

    def delete_experiment_tag(self, experiment_id, key):
        _run._check_key("tag", key)
        _call(["experiment", "tag", "-d", key, "--", str(experiment_id)])

    def _edit(self, verb, experiment_id, *rest):
        _call(["experiment", verb, "--", str(experiment_id)] + list(rest))

    # runs --------------------------------------------------------------

    def create_run(self, experiment_id, start_time=None, tags=None, run_name=None):
        """Starts a run (running until set_terminated) and returns it as a
        Run. It is not made the active run, as in MLflow."""
        args = ["start", "--pid", str(os.getpid())]
        exp, _ = _mlflow.record_experiment(_call, experiment_id)
        args += ["--experiment", exp]
        tags = dict(tags or {})
        run_name = run_name or tags.pop("mlflow.runName", None)
        if run_name:
            args += ["--name", run_name]
        parent = tags.pop("mlflow.parentRunId", None)
        if parent:
            args += ["--parent", parent]
        for k, v in tags.items():
            _run._check_key("tag", k)
            args += ["-t", "%s=%s" % (k, v)]
        rid = _call(args).strip()
        return self.get_run(rid)

    def get_run(self, run_id):
        """The run as entities.Run; RESOURCE_DOES_NOT_EXIST if none."""
        return _run.get_run(run_id)

    def search_runs(self, experiment_ids=None, filter_string="", run_view_type=ViewType.ACTIVE_ONLY,
                    max_results=1000, order_by=None, page_token=None):
        """Runs as a list of entities.Run, MLflow's filter syntax and order_by."""
        q, index = _mlflow.where_of(_call, experiment_ids, filter_string)
        recs = [] if q is None else _mlflow.records(_call, q, _mlflow.sort_of(order_by), max_results)
        experiments = _mlflow.LazyIndex(_call, index)
        return PagedList(Run(r, experiments) for r in recs)

    def set_terminated(self, run_id, status=None, end_time=None):
        """Ends the run with status FINISHED (default), FAILED or KILLED."""
        st = (status or "FINISHED").lower()
        if st not in ("finished", "failed", "killed"):
            raise InvalidValueError("status must be FINISHED, FAILED or KILLED, not %r" % (status,))
        r = _run._target(run_id)
        if isinstance(r, _run.ActiveRun):
            _run._end(r, st)
        else:
            _call(["end", "--run", r.id, "--status", st])

    def update_run(self, run_id, status=None, name=None):
        if status is not None and status.upper() != "RUNNING":
            self.set_terminated(run_id, status)
        if name is not None:
            self.set_tag(run_id, "mlflow.runName", name)

    # logging -----------------------------------------------------------

    def log_metric(self, run_id, key, value, timestamp=None, step=None, synchronous=None):
        _run._target(run_id).log_metric(key, value, step, timestamp)

    def log_param(self, run_id, key, value, synchronous=None):
        _run._target(run_id).log_params({key: value})
        return value

    def set_tag(self, run_id, key, value, synchronous=None):
        _run._target(run_id).set_tags({key: value})

    def delete_tag(self, run_id, key):
        _run._target(run_id).delete_tag(key)

    def log_batch(self, run_id, metrics=(), params=(), tags=(), synchronous=None):
        """Logs entities.Metric, Param and RunTag lists; params and tags in
        one git-runs call each, metrics in one per (step, timestamp)."""
        r = _run._target(run_id)
        if params:
            r.log_params({p.key: p.value for p in params})
        if tags:
            r.set_tags({t.key: t.value for t in tags})
        if isinstance(r, _run.ActiveRun):
            for m in metrics:
                r.log_metric(m.key, m.value, m.step, m.timestamp)
            return
        groups = {}
        for m in metrics:
            groups.setdefault((m.step, m.timestamp), {})[m.key] = m.value
        for (step, ts), vals in groups.items():
            r.log_metrics(vals, step, ts)

    def log_artifact(self, run_id, local_path, artifact_path=None):
        _run.log_artifact(local_path, artifact_path, run_id=run_id)

    def log_artifacts(self, run_id, local_dir, artifact_path=None):
        from ._artifacts import log_artifacts
        log_artifacts(local_dir, artifact_path, run_id=run_id)

    def log_dict(self, run_id, dictionary, artifact_file):
        _run.log_dict(dictionary, artifact_file, run_id=run_id)

    def log_text(self, run_id, text, artifact_file):
        _run.log_text(text, artifact_file, run_id=run_id)

    # reading -----------------------------------------------------------

    def get_metric_history(self, run_id, key):
        """Every point of metric key as entities.Metric, by step."""
        _flush_if_here(run_id)
        rec = json.loads(_call(["show", "--json", _run._run_spec(run_id)]))
        return [Metric(key, float("nan") if p["value"] is None else float(p["value"]),
                       p.get("timestamp"), p.get("step", 0))
                for p in (rec.get("history") or {}).get(key, [])]

    def list_artifacts(self, run_id, path=None):
        """The files and directories right under path (the artifacts' root
        when None), as entities.FileInfo."""
        prefix = (path or "").strip("/")
        prefix = prefix + "/" if prefix else ""
        seen = {}
        for a in _artifacts_of(run_id):
            p = a["path"]
            if not p.startswith(prefix) or p == prefix:
                continue
            rest = p[len(prefix):]
            if "/" in rest:
                d = prefix + rest.split("/", 1)[0]
                seen[d] = FileInfo(d, True, None)
            else:
                seen[p] = FileInfo(p, False, a.get("size"))
        return [seen[k] for k in sorted(seen)]

    def download_artifacts(self, run_id, path, dst_path=None):
        """Writes the artifact file or directory path into dst_path (a new
        temporary directory when None) and returns the local path."""
        path = path.strip("/")
        arts = _artifacts_of(run_id)
        files = [a["path"] for a in arts if not path or a["path"] == path or a["path"].startswith(path + "/")]
        if not files:
            raise MlflowException("run %s has no artifact %r" % (run_id, path), RESOURCE_DOES_NOT_EXIST)
        dst = dst_path or tempfile.mkdtemp(prefix="gitruns-artifacts-")
        if not os.path.isdir(dst):
            os.makedirs(dst)
        spec = _run._run_spec(run_id)
        for f in files:
            # As MLflow: the artifact's whole path, under dst.
            out = os.path.join(dst, *f.split("/"))
            d = os.path.dirname(out)
            if not os.path.isdir(d):
                os.makedirs(d)
            _call(["artifact", "get", spec, f, "-o", out, "--force"])
        return os.path.join(dst, *path.split("/")) if path else dst


def _artifacts_of(run_id):
    _flush_if_here(run_id)
    rec = json.loads(_call(["show", "--json", _run._run_spec(run_id)]))
    return rec.get("artifacts") or []


def _flush_if_here(run_id):
    """Points this process buffered for the run are written first, so that
    reading it sees them."""
    spec = _run._run_spec(run_id)
    for r in [_run._active] + _run._outer:
        if r is not None and not r._ended and r.id == spec:
            r.flush()
