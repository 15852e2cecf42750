"""The common calls of Weights & Biases' API, so that ``import gitruns as
wandb`` keeps a training script working: init, log, config, summary,
finish, and the run object they work on.

A W&B project is the run's experiment; config entries are params (nested
dicts as dotted keys); log() rows are metric points at W&B's step (one more
for each committed row, or the step= given); summary holds each logged
key's last value, and what a script sets in it is written at finish: a
number as a point of that metric at the last step, anything else as the tag
summary.<key>. tags, notes, group and job_type become the tags wandb.tags
(joined by ", "), wandb.notes, wandb.group and wandb.jobType, as
`git runs import wandb` records them.
"""

import math
import sys
import warnings

from . import _run
from .exceptions import InvalidValueError

_current = None  # the Run init returned, until it finishes


def _number(v):
    t = type(v)
    if t is float or t is int:
        return True
    if t is bool or isinstance(v, (str, bytes)):
        return False
    if isinstance(v, (int, float)):
        return True
    return hasattr(v, "item") and getattr(v, "shape", ()) in ((), (1,))


def _flat(d, prefix=""):
    out = {}
    for k, v in d.items():
        k = prefix + str(k)
        if isinstance(v, dict):
            out.update(_flat(v, k + "."))
        else:
            out[k] = v
    return out


class Config(object):
    """W&B's run.config: attribute and item access, update(); each new
    entry is logged as a param at once (params are write-once: setting
    another value raises, unless allow_val_change, which keeps the first)."""

    def __init__(self, run):
        object.__setattr__(self, "_run", run)
        object.__setattr__(self, "_items", {})

    def _set(self, d, allow_val_change=False):
        new = {}
        for k, v in d.items():
            k = str(k)
            if k in self._items and self._items[k] == v:
                continue
            if k in self._items and allow_val_change:
                self._items[k] = v
                continue
            new[k] = v
        if new:
            self._run._logger.log_params(dict(new))
            self._items.update(new)

    def update(self, d=None, allow_val_change=False, **kw):
        if d is not None and not isinstance(d, dict) and hasattr(d, "__dict__"):
            d = vars(d)  # an argparse Namespace, as W&B takes
        self._set(dict(d or {}, **kw), allow_val_change)

    def setdefaults(self, d):
        self._set({k: v for k, v in d.items() if k not in self._items})
        return dict(self._items)

    def as_dict(self):
        return dict(self._items)

    def keys(self):
        return self._items.keys()

    def items(self):
        return self._items.items()

    def values(self):
        return self._items.values()

    def get(self, k, default=None):
        return self._items.get(k, default)

    def __getitem__(self, k):
        return self._items[k]

    def __setitem__(self, k, v):
        self._set({k: v})

    def __contains__(self, k):
        return k in self._items

    def __iter__(self):
        return iter(self._items)

    def __len__(self):
        return len(self._items)

    def __getattr__(self, k):
        try:
            return self._items[k]
        except KeyError:
            raise AttributeError("config has no key %r" % k)

    def __setattr__(self, k, v):
        self._set({k: v})

    def __repr__(self):
        return repr(self._items)


class Summary(dict):
    """W&B's run.summary: each logged key's last value, and what the script
    sets, written at finish."""

    def __init__(self):
        super(Summary, self).__init__()
        self._set_by_user = set()

    def __setitem__(self, k, v):
        super(Summary, self).__setitem__(k, v)
        self._set_by_user.add(k)

    def update(self, d=None, **kw):
        for k, v in dict(d or {}, **kw).items():
            self[k] = v

    def __getattr__(self, k):
        try:
            return self[k]
        except KeyError:
            raise AttributeError("summary has no key %r" % k)

    def __setattr__(self, k, v):
        if k.startswith("_"):
            object.__setattr__(self, k, v)
        else:
            self[k] = v

    def _logged(self, d):
        for k, v in d.items():
            dict.__setitem__(self, k, v)
            self._set_by_user.discard(k)


class _Media(object):
    """A value of log() stored as an artifact, under media/<key>/."""


class Image(_Media):
    """W&B's wandb.Image: a numpy array, PIL image, matplotlib figure or
    image file, stored at media/<key>/step_<step>.png when logged."""

    def __init__(self, data_or_path, mode=None, caption=None, **kwargs):
        self.data = data_or_path
        self.caption = caption

    def _store(self, run_id, base):
        from . import _artifacts
        d = self.data
        if isinstance(d, str):
            ext = d.rsplit(".", 1)[-1] if "." in d else "png"
            _artifacts._stored(run_id, base + "." + ext, lambda p: _copy(d, p))
        elif hasattr(d, "savefig"):
            _artifacts.log_figure(d, base + ".png", run_id=run_id)
        else:
            _artifacts.log_image(d, base + ".png", run_id=run_id)


class Table(_Media):
    """W&B's wandb.Table (columns and rows, or a DataFrame), stored as
    MLflow's table JSON at media/<key>/step_<step>.table.json."""

    def __init__(self, columns=None, data=None, rows=None, dataframe=None, **kwargs):
        if dataframe is not None:
            d = dataframe.to_dict(orient="list")
            columns, data = list(d), [list(r) for r in zip(*d.values())]
        self.columns = list(columns or [])
        self.data = [list(r) for r in (data if data is not None else rows or [])]

    def add_data(self, *row):
        self.data.append(list(row))

    def _store(self, run_id, base):
        _run.log_dict({"columns": self.columns, "data": self.data}, base + ".table.json", run_id=run_id)


def _copy(src, dst):
    import shutil
    shutil.copyfile(src, dst)


class Run(object):
    """What gitruns.init returns: log, config, summary, finish, id, name."""

    def __init__(self, active, project):
        self._logger = active
        self.id = active.id
        self.name = active.info.run_name or active.id
        self.project = project
        self.entity = None
        self.url = None
        self.config = Config(self)
        self.summary = Summary()
        self.step = 0
        self._pending = {}
        self._finished = False
        self._warned = set()

    def __repr__(self):
        return "<gitruns wandb-style Run %s>" % self.id

    def __enter__(self):
        return self

    def __exit__(self, exc_type, exc, tb):
        self.finish(exit_code=0 if exc_type is None else 1)
        return False

    def log(self, data, step=None, commit=None):
        """Logs a row of metrics: numbers at W&B's step, which grows by one
        with each committed row; step= sets it (a lower one is ignored, as
        W&B does); commit=False keeps the row open for more keys."""
        if self._finished:
            raise _run.GitRunsError("run %s has finished" % self.id)
        if not isinstance(data, dict):
            raise InvalidValueError("log: data must be a dict")
        if step is not None:
            step = int(step)
            if step < self.step:
                warnings.warn("gitruns: step %d is lower than the current step %d; row ignored" % (step, self.step))
                return
            if step > self.step:
                self._commit()
                self.step = step
        for k, v in _flat(data).items():
            if _number(v):
                self._pending[k] = v
            elif isinstance(v, _Media) or hasattr(v, "savefig"):
                media = v if isinstance(v, _Media) else Image(v)
                media._store(self._logger.id, "media/%s/step_%d" % (k, self.step))
            elif k not in self._warned:
                self._warned.add(k)
                warnings.warn("gitruns: %r is not a number; only numbers are logged" % k)
        if commit or (commit is None and step is None):
            self._commit()
            self.step += 1

    def _commit(self):
        if self._pending:
            row, self._pending = self._pending, {}
            self._logger.log_metrics(row, step=self.step)
            self.summary._logged(row)

    def finish(self, exit_code=None, quiet=None):
        """Writes the open row and the summary's own values, and ends the
        run: finished, or failed for a non-zero exit_code."""
        global _current
        if self._finished:
            return
        self._commit()
        nums, other = {}, {}
        for k in sorted(self.summary._set_by_user):
            v = self.summary[k]
            if _number(v) and not (isinstance(v, float) and math.isnan(v)):
                nums[k] = v
            else:
                other["summary." + k] = str(v)
        if nums:
            self._logger.log_metrics(nums, step=max(self.step - 1, 0))
        if other:
            self._logger.set_tags(other)
        self._finished = True
        status = "finished" if not exit_code else "failed"
        if isinstance(self._logger, (_run.ActiveRun, _run._Resumed)):
            _run._end(self._logger, status)
        if _current is self:
            _current = None
            _publish(None)

    def define_metric(self, *args, **kwargs):
        """Accepted and ignored: git-runs keeps every point with its step."""

    def watch(self, *args, **kwargs):
        """Accepted and ignored."""

    def log_artifact(self, path, name=None, type=None):
        self._logger.log_artifact(path)

    def save(self, path, base_path=None, policy=None):
        self._logger.log_artifact(path)


def init(project=None, entity=None, name=None, config=None, tags=None, notes=None, group=None,
         job_type=None, id=None, resume=None, reinit=None, dir=None, mode=None, **kwargs):
    """Starts a run (attaches to git runs exec's) and returns it; project is
    its experiment, name its name, config its first params. A second init
    while a run is active returns that run, unless reinit, which finishes
    it first. id= with resume resumes that run."""
    global _current
    if _current is not None and not _current._finished:
        if not reinit:
            return _current
        _current.finish()
    t = {}
    if tags:
        t["wandb.tags"] = ", ".join(str(x) for x in tags)
    for k, v in (("wandb.notes", notes), ("wandb.group", group), ("wandb.jobType", job_type),
                 ("wandb.entity", entity)):
        if v is not None:
            t[k] = str(v)
    if id is not None and resume:
        active = _run.start_run(run_id=id, tags=t or None)
    else:
        active = _run.start_run(run_name=name, experiment=project, tags=t or None,
                                nested=_run.active_run() is not None)
    r = Run(active, project)
    r.entity = entity
    if config is not None:
        if not isinstance(config, dict):
            config = vars(config) if hasattr(config, "__dict__") else dict(config)
        r.config.update(config)
    _current = r
    _publish(r)
    return r


def login(*args, **kwargs):
    """Accepted: git-runs needs no account."""
    return True


def define_metric(*args, **kwargs):
    """Accepted and ignored: git-runs keeps every point with its step."""


def watch(*args, **kwargs):
    """Accepted and ignored."""


def save(path, base_path=None, policy=None):
    """Stores a file with the current run."""
    _need()._logger.log_artifact(path)


def _publish(r):
    """Sets gitruns.run, as wandb.run is: the current run or None."""
    pkg = sys.modules.get(__name__.rsplit(".", 1)[0])
    if pkg is not None:
        pkg.run = r


def _need():
    if _current is None:
        raise _run.GitRunsError("no run: call gitruns.init() first")
    return _current


def log(data, step=None, commit=None):
    """wandb.log: logs into the run init started (starts one if none)."""
    r = _current
    if r is None:
        r = init()
    r.log(data, step, commit)


def finish(exit_code=None, quiet=None):
    """wandb.finish: finishes the run init started."""
    if _current is not None:
        _current.finish(exit_code)


class _Proxy(object):
    """gitruns.config and gitruns.summary: the current run's."""

    def __init__(self, attr):
        object.__setattr__(self, "_attr", attr)

    def _target(self):
        return getattr(_need(), self._attr)

    def __getattr__(self, k):
        return getattr(self._target(), k)

    def __setattr__(self, k, v):
        setattr(self._target(), k, v)

    def __getitem__(self, k):
        return self._target()[k]

    def __setitem__(self, k, v):
        self._target()[k] = v

    def __contains__(self, k):
        return k in self._target()

    def __iter__(self):
        return iter(self._target())

    def __len__(self):
        return len(self._target())

    def __repr__(self):
        return repr(self._target()) if _current is not None else "<no run: call gitruns.init()>"


config = _Proxy("config")
summary = _Proxy("summary")
