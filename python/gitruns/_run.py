"""Implementation of the gitruns logging API (standard library only)."""

import atexit
import json
import math
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time

from . import _mlflow, _system
from .entities import Run

_FLUSH_BYTES = 64 << 10
_FLUSH_DELAY = 0.1  # seconds after the first buffered point
_STEP_LIMIT = 1 << 63  # steps are int64

_lock = threading.RLock()  # guards the module state and the active run's buffer
_active = None  # the ActiveRun being logged into, or None
_outer = []  # active runs that nested ones (start_run(nested=True)) stand in front of, outermost first
_exec_taken = False  # start_run has attached to git runs exec's run (GITRUNS_RUN) in this process
_experiment = None  # set by set_experiment, used by the next start_run
_experiment_id = None  # and its id
_hooks_installed = False
_uncaught = None  # exception type that is ending the interpreter, if any
_system_metrics = True  # standalone runs sample system metrics
_system_interval = _system.DEFAULT_INTERVAL  # seconds


from .exceptions import GitRunsError, InvalidTypeError, InvalidValueError, MlflowException, _code_of  # noqa: E402,F401


# ---------------------------------------------------------------- binary


def _binary():
    b = os.environ.get("GITRUNS_BIN")
    if b:
        return b
    b = shutil.which("git-runs")
    if b:
        return b
    raise GitRunsError("git-runs binary not found: put it on PATH or set GITRUNS_BIN")


def _call(args, cwd=None):
    """Runs git-runs with args and returns its stdout, raising GitRunsError."""
    p = subprocess.run([_binary()] + args, cwd=cwd, stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, universal_newlines=True)
    if p.returncode != 0:
        msg = p.stderr.strip() or ("exit status %d" % p.returncode)
        if msg.startswith("git-runs: "):
            msg = msg[len("git-runs: "):]
        raise GitRunsError("git-runs %s: %s" % (args[0], msg), _code_of(msg))
    return p.stdout


def _common_dir(cwd):
    p = subprocess.run(["git", "rev-parse", "--git-common-dir"], cwd=cwd,
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       universal_newlines=True)
    if p.returncode != 0:
        raise GitRunsError("not in a git repository: %s" % p.stderr.strip())
    return os.path.abspath(os.path.join(cwd, p.stdout.strip()))


# ---------------------------------------------------------------- values

_KEY_OK = re.compile(r"^[A-Za-z0-9_\-./: ]+$")
_RUN_ID = re.compile(r"^[0-7][0-9a-hjkmnp-tv-z]{25}$")


def _check_key(kind, key):
    if not isinstance(key, str):
        raise InvalidTypeError("%s key must be a str, not %s" % (kind, type(key).__name__))
    problem = ""
    if key == "":
        problem = "empty"
    elif len(key.encode("utf-8", "surrogatepass")) > 250:
        problem = "longer than 250 bytes"
    elif "\t" in key:
        problem = "tab is not allowed"
    elif "\n" in key:
        problem = "newline is not allowed"
    elif not _KEY_OK.match(key):
        for ch in key:
            if ord(ch) < 128:
                if not _KEY_OK.match(ch):
                    problem = "%r is not allowed" % ch
                    break
            elif not (ch.isalnum() or ch.isidentifier()):
                problem = "%r is not allowed" % ch
                break
    if not problem:
        if key[0] == " ":
            problem = "leading space"
        elif key[-1] == " ":
            problem = "trailing space"
        elif key[0] == "/":
            problem = "leading slash"
        elif ".." in key:
            problem = '".." is not allowed'
        elif kind == "param" and (key[0] == "." or key[-1] == "."):
            problem = "leading or trailing dot"
    if problem:
        raise InvalidValueError("invalid %s key %r: %s" % (kind, key, problem))


def _to_float(key, value):
    """Converts a metric value (int, float, bool, numpy scalar, 0-d tensor)."""
    t = type(value)
    if t is float:
        return value
    if t is int or t is bool:
        return float(value)
    if isinstance(value, (str, bytes)):
        raise InvalidTypeError("metric %r: value must be a number, not %s" % (key, t.__name__))
    item = getattr(value, "item", None)
    if item is not None:
        try:
            value = item()
        except Exception as e:  # e.g. a tensor with more than one element
            raise InvalidValueError("metric %r: value %r is not a scalar: %s" % (key, value, e))
        if isinstance(value, (str, bytes)):
            raise InvalidTypeError("metric %r: value must be a number, not %s" % (key, type(value).__name__))
    try:
        return float(value)
    except (TypeError, ValueError, OverflowError):
        raise InvalidTypeError("metric %r: value %r is not a number" % (key, value))


def _toml(key, v):
    """Renders a param value as a TOML literal."""
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float):
        s = repr(v)
        if s in ("nan", "inf", "-inf"):
            return s
        if "." not in s and "e" not in s:
            s += ".0"
        return s
    if isinstance(v, str):
        return json.dumps(v, ensure_ascii=False)
    if isinstance(v, (list, tuple)):
        return "[" + ", ".join(_toml(key, x) for x in v) + "]"
    if v is None:
        # As MLflow stores it (str(None)): log_params(model.get_params())
        # is common, and estimators' settings are often None.
        return '"None"'
    item = getattr(v, "item", None)
    if item is not None and not isinstance(v, (dict, set)):
        try:
            return _toml(key, item())
        except (TypeError, ValueError):
            pass
    tolist = getattr(v, "tolist", None)
    if tolist is not None:
        return _toml(key, tolist())
    return json.dumps(str(v), ensure_ascii=False)


def _flatten(d, prefix=""):
    out = {}
    for k, v in d.items():
        if not isinstance(k, str):
            k = str(k)
        k = prefix + k
        if isinstance(v, dict):
            out.update(_flatten(v, k + "."))
        else:
            out[k] = v
    return out


# ---------------------------------------------------------------- the run


class RunInfo(object):
    """An active run's attributes, with MLflow's names (run_id, run_name,
    experiment_id, status, start_time in Unix ms, artifact_uri)."""

    def __init__(self, run_id, name, experiment, start_time=None, experiment_id=None):
        self.run_id = run_id
        self.run_uuid = run_id
        self.run_name = name
        self.experiment_name = experiment
        self._experiment_id = experiment_id
        self.artifact_uri = _mlflow.artifact_uri(run_id)
        self.lifecycle_stage = "active"
        self.start_time = start_time
        self.end_time = None
        self.status = "RUNNING"

    @property
    def experiment_id(self):
        """The experiment's id; asked of the binary once, when not known
        from the start."""
        if self._experiment_id is None:
            self._experiment_id = _mlflow.experiment_id(self.experiment_name)()
        return self._experiment_id

    def __repr__(self):
        return "RunInfo(run_id=%r)" % self.run_id


class _Logger(object):
    """Params, tags and artifacts of a run, through the git-runs binary."""

    def log_params(self, params):
        if not isinstance(params, dict):
            raise InvalidTypeError("params must be a dict")
        flat = _flatten(params)
        args = []
        for k, v in flat.items():
            _check_key("param", k)
            if "=" in k:
                raise InvalidValueError("invalid param key %r: '=' is not allowed" % k)
            args.append("%s=%s" % (k, _toml(k, v)))
        if args:
            self._binary_call(["param", "--run", self.id] + args)

    def set_tags(self, tags):
        args = []
        for k, v in tags.items():
            _check_key("tag", k)
            if "=" in k:
                raise InvalidValueError("invalid tag key %r: '=' is not allowed" % k)
            if not isinstance(v, str):
                v = str(v)
            args.append("%s=%s" % (k, v))
        if args:
            self._binary_call(["tag", "--run", self.id] + args)

    def delete_tag(self, key):
        _check_key("tag", key)
        self._binary_call(["tag", "--run", self.id, "-d", key])

    def log_artifact(self, local_path, artifact_path=None):
        if not os.path.exists(local_path):
            raise FileNotFoundError("log_artifact: %s does not exist" % local_path)
        args = ["artifact", "--run", self.id]
        if artifact_path:
            dest = artifact_path.strip("/") + "/" + os.path.basename(os.path.normpath(local_path))
            args += ["--as", dest]
        args.append(os.path.abspath(local_path))
        self._binary_call(args)

    def _log_file(self, data, artifact_file):
        d = tempfile.mkdtemp(prefix="gitruns-")
        try:
            p = os.path.join(d, os.path.basename(artifact_file) or "artifact")
            with open(p, "wb") as f:
                f.write(data)
            self._binary_call(["artifact", "--run", self.id, "--as",
                               artifact_file.strip("/"), p])
        finally:
            shutil.rmtree(d, ignore_errors=True)


class _RunByID(_Logger):
    """A run named by run_id= that this process does not log into: live
    elsewhere, or ended (git-runs then adds to it as a new commit)."""

    def __init__(self, spec, cwd):
        self.id = spec
        self._cwd = cwd

    def log_metrics(self, metrics, step=None, timestamp=None):
        points = []
        for k, v in metrics.items():
            _check_key("metric", k)
            if "=" in k:
                raise InvalidValueError("invalid metric key %r: '=' is not allowed" % k)
            points.append("%s=%r" % (k, _to_float(k, v)))
        if not points:
            return
        args = ["metric", "--run", self.id]
        if step is not None:
            args += ["--step", str(step if type(step) is int else _to_step("metric", step))]
        if timestamp is not None:
            args += ["--time", str(int(timestamp))]
        self._binary_call(args + points)

    def log_metric(self, key, value, step=None, timestamp=None):
        self.log_metrics({key: value}, step, timestamp)

    def _binary_call(self, args):
        return _call(args, cwd=self._cwd)


class _Active(object):
    """What an active run is to a with statement: ending it, failed if an
    exception leaves the block."""

    def __repr__(self):
        return "<ActiveRun %s>" % self.id

    def __enter__(self):
        return self

    def __exit__(self, exc_type, exc, tb):
        if not self._ended:
            _end(self, _status_of(exc_type))
        return False


class _Resumed(_Active, _RunByID):
    """A run start_run(run_id=...) made the active one: logged into through
    the binary, as run_id= calls are. A run that has ended takes what is
    logged as an addition; one still running is ended by end_run, as
    MLflow's resumed runs are."""

    _buf = ()
    _system = None

    def __init__(self, spec, cwd):
        _RunByID.__init__(self, spec, cwd)
        rec = json.loads(_call(["show", "--json", spec], cwd=cwd))
        self.id = rec["id"]
        self.info = RunInfo(self.id, rec.get("name"), rec.get("experiment"),
                            _mlflow.ms(rec.get("started")))
        self.parent_id = (rec.get("tags") or {}).get("mlflow.parentRunId")
        self._standalone = rec.get("status") == "running"
        self._owner = os.getpid()
        self._ended = False

    def _binary_call(self, args):
        if self._ended:
            raise GitRunsError("run %s has ended" % self.id)
        return _call(args, cwd=self._cwd)

    def flush(self):
        pass

    def _flush_locked(self):
        pass

    def _close(self):
        pass


def _status_of(exc_type):
    if exc_type is None:
        return "finished"
    if issubclass(exc_type, KeyboardInterrupt):
        return "killed"
    return "failed"


class ActiveRun(_Active, _Logger):
    """A live run this process logs into. Use it as a context manager: it ends
    finished on normal exit, failed on an exception, killed on
    KeyboardInterrupt."""

    def __init__(self, run_id, cwd, journal, standalone, name=None, experiment=None, parent=None,
                 experiment_id=None):
        self.id = run_id
        self.parent_id = parent  # the run this one is part of, or None
        self.info = RunInfo(run_id, name, experiment, int(time.time() * 1000), experiment_id)
        self._cwd = cwd
        self._path = journal
        self._standalone = standalone
        self._owner = os.getpid()
        self._fd = os.open(journal, os.O_WRONLY | os.O_APPEND)
        self._buf = []
        self._size = 0
        self._first = 0.0  # time.time() of the first buffered point
        self._next = {}  # metric key -> next automatic step
        self._ended = False
        self._error = None  # a failed background flush, raised at the next call
        self._system = None  # the _system.Sampler of a standalone run

    # metrics ------------------------------------------------------------

    def log_metric(self, key, value, step=None, timestamp=None):
        if type(value) is not float:
            value = _to_float(key, value)
        now = time.time()
        with _lock:
            if self._ended:
                raise GitRunsError("run %s has ended" % self.id)
            nxt = self._next
            if step is None:
                step = nxt.get(key)
                if step is None:
                    _check_key("metric", key)
                    step = 0
            else:
                if type(step) is not int:
                    step = _to_step(key, step)
                if not -_STEP_LIMIT <= step < _STEP_LIMIT - 1:
                    raise InvalidValueError("metric %r: step %d out of range" % (key, step))
                if key not in nxt:
                    _check_key("metric", key)
            nxt[key] = step + 1
            if timestamp is None:
                ms = int(now * 1000)
            else:
                ms = int(timestamp)
            line = "M\t%s\t%d\t%d\t%r\n" % (key, step, ms, value)
            buf = self._buf
            if not buf:
                self._first = now
            buf.append(line)
            self._size += len(line)
            if self._size >= _FLUSH_BYTES or now - self._first >= _FLUSH_DELAY:
                self._flush_locked()

    def log_metrics(self, metrics, step=None, timestamp=None):
        # Convert every value first, so that a bad one logs nothing.
        conv = [(k, _to_float(k, v)) for k, v in metrics.items()]
        for k, v in conv:
            self.log_metric(k, v, step, timestamp)

    def flush(self):
        with _lock:
            self._flush_locked()

    def _flush_locked(self):
        if self._error is not None:
            e, self._error = self._error, None
            raise e
        if not self._buf:
            return
        data = "".join(self._buf).encode("utf-8")
        self._buf = []
        self._size = 0
        if self._fd < 0:
            return
        # One write for the whole buffer: O_APPEND keeps it whole. A short
        # write (disk full, say) is finished with more writes.
        n = os.write(self._fd, data)
        while n < len(data):
            data = data[n:]
            n = os.write(self._fd, data)

    def _background_flush(self):
        with _lock:
            if self._buf and time.time() - self._first >= _FLUSH_DELAY:
                try:
                    self._flush_locked()
                except OSError as e:
                    self._error = e

    # params, tags, artifacts: _Logger's, in call order with the metrics --

    def _binary_call(self, args):
        with _lock:
            if self._ended:
                raise GitRunsError("run %s has ended" % self.id)
            self._flush_locked()  # keep the journal in call order
            return _call(args, cwd=self._cwd)

    def _close(self):
        if self._fd >= 0:
            try:
                os.close(self._fd)
            except OSError:
                pass
            self._fd = -1


def _to_step(key, step):
    if isinstance(step, bool):
        raise InvalidTypeError("metric %r: step must be an int, not bool" % key)
    try:
        i = step.__index__()
    except AttributeError:
        item = getattr(step, "item", None)
        v = item() if item is not None else step
        if isinstance(v, float) and v.is_integer():
            return int(v)
        if isinstance(v, int):
            return v
        raise InvalidTypeError("metric %r: step must be an int, not %s" % (key, type(step).__name__))
    return int(i)


# ---------------------------------------------------------------- module API


_UNSET = object()


def start_run(run_id=None, experiment_id=None, run_name=None, nested=False, parent_run_id=None,
              tags=None, description=None, log_system_metrics=None, name=None, experiment=None,
              params=None):
    """Starts a run and makes it the active run. Returns an ActiveRun, usable
    in a with block. The arguments are MLflow's; name and experiment are
    run_name and an experiment's name, params are logged at the start.

    run_id= makes that run (a full or short id, or a name) the active one
    instead: a run that has ended takes what is logged next as an addition,
    one still running is ended by end_run. experiment_id is an experiment's
    id ("0": Default), as git runs experiment ls shows them (a name no id
    is still works, as gitruns took names as ids before); description
    becomes the tag mlflow.note.content.

    Under git runs exec (GITRUNS_RUN set), the first start_run of the
    process attaches to exec's run; each later one starts a run that is part
    of exec's run (a trial of a sweep), as MLflow's nested runs are. While a
    run is active, start_run(nested=True) starts a run part of it, which
    stays active until it ends; parent_run_id names the parent outright.

    A run that is not part of another samples system metrics (system/...,
    as git runs exec does) every 10 s until it ends, unless
    log_system_metrics is False (None: as enable_system_metrics_logging and
    disable_system_metrics_logging last said). Under git runs exec the
    SDK never samples: exec does."""
    global _active, _exec_taken
    name = run_name or name
    if description is not None:
        tags = dict(tags or {}, **{"mlflow.note.content": str(description)})
    with _lock:
        cur = active_run()
        if cur is not None and not nested and parent_run_id is None:
            raise GitRunsError("run %s is already active: end_run() first, or start_run(nested=True) for a run inside it" % cur.id)
        _install_hooks()
        cwd = os.getcwd()
        if run_id is not None:
            return _resume(run_id, cwd, cur, params, tags)
        exp_id = None
        if experiment_id is not None:
            exp, exp_id = _mlflow.record_experiment(_call, experiment_id)
        else:
            exp = experiment or _experiment
            if not experiment and _experiment is not None:
                exp_id = _experiment_id
        parent = _run_spec(parent_run_id) if parent_run_id is not None else (cur.id if cur is not None else None)
        rid = os.environ.get("GITRUNS_RUN")
        if rid and parent is None:
            # The id becomes part of a path: anything but a run id is refused.
            if not _RUN_ID.match(rid):
                raise GitRunsError("GITRUNS_RUN=%r is not a run id (26 characters, as git runs exec sets it)" % rid)
            if _exec_taken:
                parent = rid
            else:
                common = _common_dir(cwd)
                journal = os.path.join(common, "runs", "live", rid + ".journal")
                if not os.path.exists(journal):
                    raise GitRunsError("GITRUNS_RUN=%s names no live run in %s" % (rid, common))
                r = ActiveRun(rid, cwd, journal, standalone=False, name=name, experiment=exp)
                _active, _exec_taken = r, True
                if params:
                    r.log_params(params)
                if tags:
                    r.set_tags(tags)
                return r
        args = ["start", "--pid", str(os.getpid())]
        if parent is not None:
            args += ["--parent", parent]
        if name:
            args += ["--name", name]
        if exp:
            args += ["--experiment", exp]
        for k, v in _flatten(params or {}).items():
            _check_key("param", k)
            args += ["-p", "%s=%s" % (k, _toml(k, v))]
        for k, v in (tags or {}).items():
            _check_key("tag", k)
            args += ["-t", "%s=%s" % (k, v if isinstance(v, str) else str(v))]
        started = time.time()  # system metrics count their steps from here
        # Start the binary and find the common dir at the same time.
        g = subprocess.Popen(["git", "rev-parse", "--git-common-dir"], cwd=cwd,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                             universal_newlines=True)
        try:
            rid = _call(args, cwd=cwd).strip()
        finally:
            out, err = g.communicate()
        if g.returncode != 0:
            raise GitRunsError("not in a git repository: %s" % err.strip())
        common = os.path.abspath(os.path.join(cwd, out.strip()))
        journal = os.path.join(common, "runs", "live", rid + ".journal")
        r = ActiveRun(rid, cwd, journal, standalone=True, name=name, experiment=exp, parent=parent,
                      experiment_id=exp_id)
        if parent is None and (_system_metrics if log_system_metrics is None else log_system_metrics):
            r._system = _system.Sampler(r.log_metric, started, _system_interval)
        if cur is not None:
            _outer.append(cur)
        _active = r
        return r


def _resume(run_id, cwd, cur, params, tags):
    global _active
    r = _Resumed(_run_spec(run_id), cwd)
    if params:
        r.log_params(params)
    if tags:
        r.set_tags(tags)
    if cur is not None:
        _outer.append(cur)
    _active = r
    return r


def active_run():
    """The active run, or None."""
    r = _active
    if r is None or r._ended:
        return None
    return r


def _run():
    r = _active
    if r is None or r._ended:
        return start_run()
    return r


def _end(r, status):
    global _active
    # The sampler is stopped before taking the lock its thread logs under.
    s, r._system = r._system, None
    if s is not None:
        s.stop()
    with _lock:
        if r._ended:
            return
        if r in _outer:
            # A run nested in r does not outlive it: ended first, as r is.
            while _active is not None and _active is not r:
                _end(_active, status)
        try:
            r._flush_locked()
        finally:
            r._ended = True
            r._close()
            if _active is r:
                _active = _outer.pop() if _outer else None
            _last[:] = [r.id]
            r.info.status = status.upper()
            r.info.end_time = int(time.time() * 1000)
        if r._standalone and os.getpid() == r._owner:
            _call(["end", "--run", r.id, "--status", status], cwd=r._cwd)


_last = []  # the id of the run that ended last, for last_active_run


def end_run(status="FINISHED"):
    """Flushes and ends the active run with status FINISHED, FAILED or
    KILLED (MLflow's, in any case); the run it was nested in, if any, is
    active again. Exec's own run is only flushed: exec ends it."""
    st = status.lower() if isinstance(status, str) else status
    if st not in ("finished", "failed", "killed"):
        raise InvalidValueError("status must be FINISHED, FAILED or KILLED, not %r" % (status,))
    status = st
    r = _active
    if r is not None:
        _end(r, status)


def enable_system_metrics_logging():
    """Standalone runs started from now on sample system metrics (the
    default)."""
    global _system_metrics
    _system_metrics = True


def disable_system_metrics_logging():
    """Standalone runs started from now on sample no system metrics."""
    global _system_metrics
    _system_metrics = False


def set_system_metrics_sampling_interval(interval):
    """Seconds between samples of the system metrics of runs started from
    now on, at least 0.1; None for the default, 10."""
    global _system_interval
    if interval is None:
        _system_interval = _system.DEFAULT_INTERVAL
    else:
        _system_interval = _system.check_interval(interval)


def flush():
    """Writes the buffered metric points of the active run to its journal."""
    r = _active
    if r is not None and not r._ended:
        r.flush()


def _target(run_id):
    """The run a call with run_id logs into: the active run when None, else
    the run of that id (a full or short id or a name): this process's own
    when active here, or one reached through the binary, ended ones too."""
    if run_id is None:
        r = _active
        if r is None or r._ended:
            r = _run()
        return r
    spec = _run_spec(run_id)
    with _lock:
        for r in [_active] + _outer:
            if r is not None and not r._ended and r.id == spec:
                return r
    return _RunByID(spec, os.getcwd())


def log_metric(key, value, step=None, timestamp=None, run_id=None, synchronous=None):
    """Logs one metric point. step=None continues the key's steps (0 first);
    timestamp is Unix milliseconds (default: now). run_id names another run
    than the active one; a run that has ended takes the point as a new
    commit (evaluation after training)."""
    if run_id is None:
        r = _active
        if r is None or r._ended:
            r = _run()
    else:
        r = _target(run_id)
    r.log_metric(key, value, step, timestamp)


def log_metrics(metrics, step=None, timestamp=None, run_id=None, synchronous=None):
    _target(run_id).log_metrics(metrics, step, timestamp)


def log_param(key, value, run_id=None, synchronous=None):
    _target(run_id).log_params({key: value})
    return value


def log_params(params, run_id=None, synchronous=None):
    _target(run_id).log_params(params)


def set_tag(key, value, run_id=None, synchronous=None):
    _target(run_id).set_tags({key: value})


def set_tags(tags, run_id=None, synchronous=None):
    _target(run_id).set_tags(tags)


def log_artifact(local_path, artifact_path=None, run_id=None):
    _target(run_id).log_artifact(local_path, artifact_path)


def log_dict(dictionary, artifact_file, run_id=None):
    data = json.dumps(dictionary, indent=2, sort_keys=True, default=str) + "\n"
    _target(run_id)._log_file(data.encode("utf-8"), artifact_file)


def log_text(text, artifact_file, run_id=None):
    _target(run_id)._log_file(text.encode("utf-8"), artifact_file)


def set_experiment(experiment_name=None, experiment_id=None):
    """Sets the experiment of the runs started next, by name or by id ("0"
    is Default), and returns it as an entities.Experiment. As in MLflow, a
    name no experiment has is created (git runs experiment create), an
    unknown id is RESOURCE_DOES_NOT_EXIST, and a deleted experiment is
    refused. A name no id is still works as experiment_id, as gitruns took
    names as ids before."""
    global _experiment, _experiment_id
    if experiment_name is not None and experiment_id is not None:
        raise InvalidValueError("set_experiment: give experiment_name or experiment_id, not both")
    if experiment_name is None and experiment_id is None:
        experiment_id = _mlflow.DEFAULT_ID  # as gitruns did: back to Default
    if experiment_id is not None:
        name, eid = _mlflow.record_experiment(_call, experiment_id)
        j = _mlflow.show_experiment(_call, eid) if eid is not None else _experiment_named(name)
    else:
        j = _experiment_named(str(experiment_name))
    if j.get("lifecycle_stage") == "deleted":
        raise InvalidValueError("Cannot set a deleted experiment %r as the active experiment: "
                                "git runs experiment restore %s brings it back" % (j["name"], j["experiment_id"]))
    with _lock:
        _experiment = None if j["experiment_id"] == _mlflow.DEFAULT_ID else j["name"]
        _experiment_id = j["experiment_id"]
    return _mlflow.to_experiment(j)


def _experiment_named(name):
    """The experiment whose current name is name, created when there is
    none, as MLflow's set_experiment does."""
    j = _mlflow.show_experiment(_call, name)
    if j is not None and j["name"] == name:
        return j
    if j is not None:  # name reads as another experiment's id
        j = _mlflow.ExperimentIndex(_mlflow.experiment_list(_call)).named(name)
        if j is not None:
            return j
    try:
        return _mlflow.create_experiment(_call, name)
    except MlflowException as e:
        j = _mlflow.show_experiment(_call, name)  # another process created it meanwhile
        if j is None or j["name"] != name:
            raise e
        return j


# ---------------------------------------------------------------- reading


def search_runs(experiment_ids=None, filter_string="", run_view_type=1, max_results=100000,
                order_by=None, output_format=None, search_all_experiments=False,
                experiment_names=None, where=None, sort=None, limit=None, output=None):
    """Runs, newest first, with MLflow's arguments or git-runs' own.

    With any of MLflow's (experiment_ids, filter_string, max_results,
    order_by, output_format, experiment_names, search_all_experiments), as
    MLflow: the active experiment's runs unless experiments are named or
    search_all_experiments, as a pandas
    DataFrame (output_format="pandas", the default) or a list of
    entities.Run ("list"). filter_string is MLflow's search syntax, which
    git-runs' query language reads as it is; order_by's first clause
    sorts. Without them (where=, sort="-metrics.acc", limit=,
    output="list"|"pandas"): a list of runs that are git-runs' records as
    dicts and entities.Run too, or the DataFrame of those records."""
    mlflow_style = (experiment_ids is not None or filter_string or order_by or output_format
                    or experiment_names is not None or max_results != 100000 or search_all_experiments)
    if mlflow_style:
        if output_format is None:
            output_format = "pandas"
        if output_format not in ("pandas", "list"):
            raise InvalidValueError("output_format must be 'pandas' or 'list', not %r" % (output_format,))
        if experiment_ids is None and experiment_names is None and not search_all_experiments:
            # As MLflow: the active experiment's runs (set_experiment's, else Default).
            experiment_names = [_experiment or _mlflow.DEFAULT_NAME]
        q, index = _mlflow.where_of(_call, experiment_ids, filter_string, experiment_names)
        recs = [] if q is None else _mlflow.records(_call, q, _mlflow.sort_of(order_by), max_results)
        experiments = _mlflow.LazyIndex(_call, index)
        runs = [Run(r, experiments) for r in recs]
        return runs if output_format == "list" else _mlflow.to_frame(runs)
    if output is None:
        output = output_format or "list"
    runs = _mlflow.records(_call, where, sort, limit)
    if output == "list":
        experiments = _mlflow.LazyIndex(_call)
        return [Run(r, experiments) for r in runs]
    if output != "pandas":
        raise InvalidValueError("output must be 'list' or 'pandas'")
    import pandas  # noqa: only when asked for
    rows = []
    for r in runs:
        row = {}
        for k, v in r.items():
            if k == "params":
                for pk, pv in _flatten(v).items():
                    row["params." + pk] = pv
            elif k == "metrics":
                for mk, mv in v.items():
                    row["metrics." + mk] = mv.get("last") if isinstance(mv, dict) else mv
            elif k == "tags":
                for tk, tv in v.items():
                    row["tags." + tk] = tv
            else:
                row[k] = v
        rows.append(row)
    df = pandas.DataFrame(rows)
    for col in ("started", "ended"):
        if col in df:
            # Times as pandas times, as MLflow's start_time and end_time are.
            df[col] = pandas.to_datetime(df[col], utc=True, format="ISO8601" if _pandas2(pandas) else None)
    return df


def _pandas2(pandas):
    try:
        return int(pandas.__version__.split(".")[0]) >= 2
    except ValueError:
        return False


def _run_spec(run):
    if isinstance(run, (ActiveRun, _Resumed)):
        return run.id
    if isinstance(run, dict):
        return run["id"]
    return str(run)


def get_run(run_id):
    """A run as MLflow's Run (.info, .data.params as strings, .data.metrics
    as last values, .data.tags) that is also git-runs' record as a dict
    (git-runs show --json), history included. An unknown run raises
    MlflowException with error_code RESOURCE_DOES_NOT_EXIST."""
    return Run(json.loads(_call(["show", "--json", _run_spec(run_id)])))


def last_active_run():
    """The active run, else the run that ended last in this process, as
    get_run gives it; None when there was none."""
    r = active_run()
    rid = r.id if r is not None else (_last[0] if _last else None)
    return None if rid is None else get_run(rid)


def get_artifact_uri(artifact_path=None):
    """The URI of the active run's artifacts (gitruns:/<run id>/artifacts),
    or of one of them."""
    uri = _mlflow.artifact_uri(_run().id)
    if artifact_path:
        uri += "/" + artifact_path.lstrip("/")
    return uri


def delete_tag(key, run_id=None):
    _target(run_id).delete_tag(key)


def get_metric_history(run, key):
    """The points of metric key: a list of {"step", "timestamp", "value"}."""
    return list(get_run(run).get("history", {}).get(key, []))


# ---------------------------------------------------------------- hooks


def _flusher():
    while True:
        time.sleep(_FLUSH_DELAY / 2)
        r = _active
        if r is not None and r._buf:
            try:
                r._background_flush()
            except Exception:
                pass


def _start_flusher():
    t = threading.Thread(target=_flusher, name="gitruns-flush", daemon=True)
    t.start()


def _excepthook(tp, value, tb):
    global _uncaught
    _uncaught = tp
    _prev_excepthook(tp, value, tb)


_prev_excepthook = sys.excepthook


def _at_exit():
    r = _outer[0] if _outer else _active  # ending the outermost ends those nested in it
    if r is None or r._ended:
        return
    if _uncaught is None:
        status = "finished"
    elif issubclass(_uncaught, KeyboardInterrupt):
        status = "killed"
    else:
        status = "failed"
    try:
        _end(r, status)
    except Exception as e:
        sys.stderr.write("gitruns: ending run %s: %s\n" % (r.id, e))


def _after_fork_child():
    global _lock
    _lock = threading.RLock()
    r = _active
    if r is not None:
        # The parent's unflushed points stay the parent's; the child appends
        # its own whole lines to the same journal through the inherited fd.
        r._buf = []
        r._size = 0
    if _hooks_installed:
        _start_flusher()


def _install_hooks():
    global _hooks_installed, _prev_excepthook
    if _hooks_installed:
        return
    _hooks_installed = True
    _prev_excepthook = sys.excepthook
    sys.excepthook = _excepthook
    atexit.register(_at_exit)
    _start_flusher()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_child)
