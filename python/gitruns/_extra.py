"""MLflow's module-level calls about where runs go and about experiments,
which scripts make before logging: tracking URIs (accepted: runs go to
the current git repository) and the experiment calls, through
MlflowClient."""

import warnings

_uri = [None]


def set_tracking_uri(uri):
    """Accepted for MLflow scripts: runs still go to the git repository of
    the current directory. A remote URI draws a warning once, since the
    runs will not be there (git runs serve serves them over MLflow's API)."""
    s = str(uri) if uri is not None else None
    if s and "://" in s and not s.startswith("file:") and _uri[0] != s:
        warnings.warn("gitruns: runs go to this git repository, not to %s" % s)
    _uri[0] = s


def get_tracking_uri():
    """The URI set_tracking_uri was given, else gitruns:/ (this repository)."""
    return _uri[0] or "gitruns:/"


def is_tracking_uri_set():
    return _uri[0] is not None


def get_registry_uri():
    return get_tracking_uri()


def set_registry_uri(uri):
    pass


def _client():
    from .client import MlflowClient
    return MlflowClient()


def create_experiment(name, artifact_location=None, tags=None):
    return _client().create_experiment(name, artifact_location, tags)


def get_experiment(experiment_id):
    return _client().get_experiment(experiment_id)


def get_experiment_by_name(name):
    return _client().get_experiment_by_name(name)


def search_experiments(view_type=1, max_results=None, filter_string=None, order_by=None):
    return list(_client().search_experiments(view_type, max_results, filter_string, order_by))


def get_parent_run(run_id):
    """The run run_id is part of (a nested run's parent), or None."""
    from ._run import get_run
    parent = get_run(run_id).data.tags.get("mlflow.parentRunId")
    return get_run(parent) if parent else None
