"""MLflow's entity classes (mlflow.entities), as gitruns fills them in from
git-runs' records: Run with .info and .data, Metric, Param, RunTag,
Experiment, FileInfo, RunStatus and ViewType.

Params are strings in Run.data.params, as MLflow gives them back; metrics
are last values; times are Unix milliseconds. Experiments have git-runs'
ids, numeric strings as MLflow's ("0" is the Default experiment, that of
runs recorded without one).
"""

import math


class _Entity(object):
    __slots__ = ()

    def _names(self):
        # The attributes an entity shows: its slots, unless it names them.
        return getattr(type(self), "_fields", None) or self.__slots__

    def __eq__(self, other):
        return type(self) is type(other) and self._key() == other._key()

    def __hash__(self):
        return hash(self._key())

    def __repr__(self):
        return "<%s: %s>" % (type(self).__name__, ", ".join(
            "%s=%r" % (k, getattr(self, k)) for k in self._names()))

    def _key(self):
        return tuple(getattr(self, k) for k in self._names())

    def __iter__(self):
        # MLflow entities turn into dicts with dict(entity).
        for k in self._names():
            yield k, getattr(self, k)


class Metric(_Entity):
    """One metric point: key, value, timestamp (Unix ms), step."""

    __slots__ = ("key", "value", "timestamp", "step")

    def __init__(self, key, value, timestamp=None, step=0, **_):
        self.key = key
        self.value = value
        self.timestamp = timestamp
        self.step = step

    def _key(self):
        v = self.value
        return (self.key, "nan" if isinstance(v, float) and math.isnan(v) else v, self.timestamp, self.step)


class Param(_Entity):
    """A param: key and value (a string, as MLflow keeps it)."""

    __slots__ = ("key", "value")

    def __init__(self, key, value):
        self.key = key
        self.value = value


class RunTag(_Entity):
    """A tag: key and value (strings)."""

    __slots__ = ("key", "value")

    def __init__(self, key, value):
        self.key = key
        self.value = value


class ExperimentTag(RunTag):
    """An experiment's tag."""

    __slots__ = ()


class FileInfo(_Entity):
    """An artifact: path under the run's artifacts, is_dir, file_size
    (None for a directory)."""

    __slots__ = ("path", "is_dir", "file_size")

    def __init__(self, path, is_dir, file_size=None):
        self.path = path
        self.is_dir = is_dir
        self.file_size = file_size


class Experiment(_Entity):
    """An experiment of the repository (git runs experiment ls): its id,
    name, lifecycle_stage ("active" or "deleted"), tags, and times in Unix
    ms (None when it has none yet, as Default before its first run)."""

    __slots__ = ("experiment_id", "name", "artifact_location", "lifecycle_stage", "tags",
                 "creation_time", "last_update_time")

    def __init__(self, experiment_id, name, artifact_location="", lifecycle_stage="active",
                 tags=None, creation_time=None, last_update_time=None):
        self.experiment_id = experiment_id
        self.name = name
        self.artifact_location = artifact_location
        self.lifecycle_stage = lifecycle_stage
        self.tags = dict(tags or {})
        self.creation_time = creation_time
        self.last_update_time = last_update_time

    def _key(self):
        return (self.experiment_id, self.name)


class RunStatus(object):
    """MLflow's run statuses."""

    RUNNING = "RUNNING"
    SCHEDULED = "SCHEDULED"
    FINISHED = "FINISHED"
    FAILED = "FAILED"
    KILLED = "KILLED"

    @staticmethod
    def is_terminated(status):
        return status in ("FINISHED", "FAILED", "KILLED")

    @staticmethod
    def all_status():
        return ["RUNNING", "SCHEDULED", "FINISHED", "FAILED", "KILLED"]


class ViewType(object):
    """Which runs search_runs sees. gitruns keeps no deleted runs (git runs rm
    removes them), so every view lists the same runs."""

    ACTIVE_ONLY = 1
    DELETED_ONLY = 2
    ALL = 3


class LifecycleStage(object):
    ACTIVE = "active"
    DELETED = "deleted"


class RunInfo(_Entity):
    """A run's attributes as MLflow names them. experiment_id may be given
    as a function that tells it: the id of a record's experiment takes a
    call of the binary, made only when someone asks, once."""

    __slots__ = ("run_id", "run_name", "_experiment_id", "status", "start_time", "end_time",
                 "artifact_uri", "lifecycle_stage", "user_id")
    _fields = ("run_id", "run_name", "experiment_id", "status", "start_time", "end_time",
               "artifact_uri", "lifecycle_stage", "user_id")

    def __init__(self, run_id, run_name, experiment_id, status, start_time, end_time,
                 artifact_uri, lifecycle_stage="active", user_id=""):
        self.run_id = run_id
        self.run_name = run_name
        self._experiment_id = experiment_id
        self.status = status
        self.start_time = start_time
        self.end_time = end_time
        self.artifact_uri = artifact_uri
        self.lifecycle_stage = lifecycle_stage
        self.user_id = user_id

    @property
    def experiment_id(self):
        v = self._experiment_id
        if callable(v):
            v = self._experiment_id = v()
        return v

    @experiment_id.setter
    def experiment_id(self, v):
        self._experiment_id = v

    @property
    def run_uuid(self):
        return self.run_id


class RunData(object):
    """A run's params (strings), metrics (last values) and tags."""

    def __init__(self, params, metrics, tags):
        self.params = params
        self.metrics = metrics
        self.tags = tags

    def __repr__(self):
        return "<RunData: params=%r, metrics=%r, tags=%r>" % (self.params, self.metrics, self.tags)


class RunInputs(object):
    def __init__(self, dataset_inputs=None):
        self.dataset_inputs = list(dataset_inputs or [])


class Run(dict):
    """A run as MLflow's Run (.info, .data) that is also git-runs' record as
    a dict (run["params"], run["history"], ...), as get_run gave before."""

    def __init__(self, record, experiments=None):
        super(Run, self).__init__(record)
        from ._mlflow import run_info, run_data  # noqa: avoid an import cycle
        self.info = run_info(record, experiments)
        self.data = run_data(record)
        self.inputs = RunInputs()

    def __repr__(self):
        return "<Run: info=%r>" % (self.info,)

    def to_dictionary(self):
        return {"info": dict(self.info), "data": {"params": self.data.params,
                                                  "metrics": self.data.metrics,
                                                  "tags": self.data.tags}}
