"""gitruns: log ML runs into git with git-runs, through MLflow's calls (and
the common ones of Weights & Biases), with only the standard library.

``import gitruns as mlflow`` keeps MLflow code working: the fluent API
(start_run, log_metric, search_runs, get_run, ...), MlflowClient
(gitruns.client, gitruns.tracking), gitruns.entities and
gitruns.exceptions.MlflowException. ``import gitruns as wandb`` does the same
for init, log, config, summary and finish. autolog() records scikit-learn,
Keras, PyTorch Lightning and Transformers training without further code.

Metrics are appended straight to the run's journal
(<git common dir>/runs/live/<id>.journal), buffered in memory and flushed at
64 KiB, 0.1 s after the first buffered point, before any param/tag/artifact
call, and at end/exit. Params, tags and artifacts go through the git-runs
binary (found through $GITRUNS_BIN, else PATH), which validates and types them.

Logging with no active run starts one, as MLflow does.

Under ``git runs exec`` (GITRUNS_RUN set) the first start_run attaches to that
run, whose end_run only flushes (exec ends the run); each later start_run
starts a run that is part of exec's (a sweep's trial), as
start_run(nested=True) does inside any active run. run_id= logs into another
run, one that has ended too.

A run started outside exec, and not part of another, samples system metrics
(system/cpu_percent, system/rss_mb, system/gpu0/util_percent, ...) from /proc
and nvidia-smi every 10 s in a daemon thread until it ends; under exec, exec
samples them.
"""

from ._run import (  # noqa: F401
    ActiveRun,
    GitRunsError,
    RunInfo,
    active_run,
    delete_tag,
    disable_system_metrics_logging,
    enable_system_metrics_logging,
    end_run,
    flush,
    get_artifact_uri,
    get_metric_history,
    get_run,
    last_active_run,
    log_artifact,
    log_dict,
    log_metric,
    log_metrics,
    log_param,
    log_params,
    log_text,
    search_runs,
    set_experiment,
    set_system_metrics_sampling_interval,
    set_tag,
    set_tags,
    start_run,
)
from ._artifacts import log_artifacts, log_figure, log_image, log_input, log_table  # noqa: F401
from ._autolog import autolog  # noqa: F401
from ._extra import (  # noqa: F401
    create_experiment, get_experiment, get_experiment_by_name, get_parent_run, get_registry_uri,
    get_tracking_uri, is_tracking_uri_set, search_experiments, set_registry_uri, set_tracking_uri,
)
from . import entities, exceptions  # noqa: F401
from .client import MlflowClient  # noqa: F401
from . import client, tracking  # noqa: F401
from . import keras, lightning, pytorch, sklearn, tensorflow, transformers  # noqa: F401  (per-framework autolog)
from .exceptions import MlflowException  # noqa: F401
from ._wandb import Image, Table, config, define_metric, finish, init, log, login, save, summary, watch  # noqa: F401

run = None  # W&B's wandb.run: the run gitruns.init started, until it finishes

__version__ = "0.1.0"

__all__ = [
    "ActiveRun", "GitRunsError", "MlflowException", "RunInfo", "active_run", "delete_tag",
    "end_run", "flush", "get_artifact_uri", "get_metric_history", "get_run", "last_active_run",
    "log_artifact", "log_artifacts", "log_dict", "log_figure", "log_image", "log_input",
    "log_metric", "log_metrics", "log_param", "log_params", "log_table", "log_text",
    "search_runs", "set_experiment", "set_tag", "set_tags", "start_run",
    "disable_system_metrics_logging", "enable_system_metrics_logging",
    "set_system_metrics_sampling_interval", "entities", "exceptions", "autolog",
    "MlflowClient", "client", "tracking", "create_experiment", "get_experiment",
    "get_experiment_by_name", "get_parent_run", "get_tracking_uri", "search_experiments",
    "set_tracking_uri", "init", "log", "finish", "config", "summary", "run", "Image", "Table", "login", "define_metric",
    "watch", "save",
]
