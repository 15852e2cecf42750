"""autolog(): params and metrics of scikit-learn, Keras, PyTorch Lightning
and Hugging Face Transformers training, recorded with no further code.

Nothing is imported to find out whether a framework is there: a framework
already imported is patched at once; one that is installed but not yet
imported (importlib.util.find_spec of its top-level package, which does not
import it) is patched when the program imports it, by a finder on
sys.meta_path that wraps the module's exec_module. What is patched:

- scikit-learn: the fit of every estimator class (in each sklearn.* module
  as it is loaded; not preprocessing, imputation or feature extraction and
  selection, as in MLflow): the outermost fit logs get_params(deep=True), the tags
  estimator_name and estimator_class, and the metric training_score
  (estimator.score on the training data) when there is a y, with MLflow's
  training_accuracy/precision/recall/f1_score of a classifier (weighted)
  or training_mean_squared_error, root_mean_squared_error,
  mean_absolute_error and r2_score of a regressor.
- Keras: Model.fit gets a callback that logs each epoch's logs at
  step=epoch, and the params epochs, batch_size and optimizer_name.
- PyTorch Lightning (lightning.pytorch or pytorch_lightning): Trainer's
  __init__ adds a Callback that logs the module's hparams and max_epochs at
  the start and trainer.callback_metrics at each training epoch's end.
- Transformers: Trainer's __init__ adds a TrainerCallback that logs
  TrainingArguments as params at the start and every on_log's numbers at
  state.global_step.

Without an active run a fit starts one and ends it when the fit returns, as
MLflow's autolog does. A failure to log is a warning: training goes on.
"""

import importlib.machinery
import importlib.util
import sys
import threading
import warnings

from . import _run

_patched = []  # (framework, owner, attribute, original) to restore on disable
_enabled = set()  # frameworks autolog is on for
_applying = [None]  # the framework whose module is being patched
_hook = None
_depth = [0]  # sklearn fits in progress: only the outermost logs
_depth_lock = threading.Lock()
_silent = [False]


def _warn(msg):
    if not _silent[0]:
        warnings.warn("gitruns autolog: " + msg)


def _param_value(v):
    if v is None:
        return "None"
    if isinstance(v, (bool, int, float, str)):
        return v
    return str(v)


def _patch(owner, attr, make):
    """Replaces owner.attr (its own, not inherited) by make(original),
    once."""
    orig = owner.__dict__.get(attr)
    if orig is None or getattr(orig, "_gitruns_patched", False):
        return
    new = make(orig)
    new._gitruns_patched = True
    new.__wrapped__ = orig
    for k in ("__name__", "__qualname__", "__doc__"):
        try:
            setattr(new, k, getattr(orig, k))
        except (AttributeError, TypeError):
            pass
    setattr(owner, attr, new)
    _patched.append((_applying[0], owner, attr, orig))


class _OwnRun(object):
    """A run the framework's training started because none was active,
    ended when it ends."""

    def __init__(self):
        self.run = None

    def begin(self):
        if _run.active_run() is None:
            self.run = _run.start_run()

    def end(self, failed=False):
        r, self.run = self.run, None
        if r is not None and not r._ended:
            _run._end(r, "failed" if failed else "finished")


def _safely(what, f, *args):
    try:
        f(*args)
    except Exception as e:  # logging never stops training
        _warn("%s: %s" % (what, e))


# ---------------------------------------------------------------- scikit-learn


# Data preparation, not learning: as MLflow does, these are not patched,
# so a scaler or the label encoder that sklearn.metrics fits logs no run of
# its own (inside a Pipeline, the pipeline logs).
_SKLEARN_SKIPPED = ("sklearn.preprocessing", "sklearn.impute", "sklearn.feature_extraction",
                    "sklearn.feature_selection")


def _sklearn_module(mod):
    if mod.__name__.startswith(_SKLEARN_SKIPPED):
        return
    base = sys.modules.get("sklearn.base")
    if base is None or not hasattr(base, "BaseEstimator"):
        return
    for obj in list(vars(mod).values()):
        if isinstance(obj, type) and issubclass(obj, base.BaseEstimator) \
                and obj.__module__ == mod.__name__ and "fit" in obj.__dict__:
            _patch(obj, "fit", _sklearn_fit)


def _sklearn_fit(orig):
    def fit(self, *args, **kwargs):
        with _depth_lock:
            outer = _depth[0] == 0
            _depth[0] += 1
        own = _OwnRun()
        try:
            if outer:
                _safely("start a run", own.begin)
            try:
                result = orig(self, *args, **kwargs)
            except BaseException:
                if outer:
                    own.end(failed=True)
                raise
            if outer:
                _safely("log %s" % type(self).__name__, _sklearn_log, self, args, kwargs)
                own.end()
            return result
        finally:
            with _depth_lock:
                _depth[0] -= 1
    return fit


def _sklearn_log(est, args, kwargs):
    params = {k: _param_value(v) for k, v in est.get_params(deep=True).items()}
    if params:
        _run.log_params(params)
    _run.set_tags({"estimator_name": type(est).__name__,
                   "estimator_class": type(est).__module__ + "." + type(est).__name__})
    X = args[0] if args else kwargs.get("X")
    y = args[1] if len(args) > 1 else kwargs.get("y")
    if X is None or y is None:
        return
    sw = kwargs.get("sample_weight")
    metrics = {}
    if hasattr(est, "score"):
        metrics["training_score"] = est.score(X, y) if sw is None else est.score(X, y, sample_weight=sw)
    kind = getattr(est, "_estimator_type", None)
    if kind in ("classifier", "regressor") and hasattr(est, "predict"):
        _safely("training metrics", lambda: metrics.update(_sklearn_training_metrics(est, kind, X, y, sw)))
    if metrics:
        _run.log_metrics(metrics)


def _sklearn_training_metrics(est, kind, X, y, sw):
    """MLflow's training_* metrics of a classifier or regressor, from its
    predictions on the training data."""
    m = sys.modules.get("sklearn.metrics")
    if m is None:
        import sklearn.metrics as m  # sklearn is there: this fit is its
    pred = est.predict(X)
    out = {}
    if kind == "classifier":
        out["training_accuracy_score"] = m.accuracy_score(y, pred, sample_weight=sw)
        for name, f in (("precision", m.precision_score), ("recall", m.recall_score), ("f1", m.f1_score)):
            out["training_%s_score" % name] = f(y, pred, average="weighted", sample_weight=sw, zero_division=0)
    else:
        mse = m.mean_squared_error(y, pred, sample_weight=sw)
        out["training_mean_squared_error"] = mse
        out["training_root_mean_squared_error"] = mse ** 0.5
        out["training_mean_absolute_error"] = m.mean_absolute_error(y, pred, sample_weight=sw)
        out["training_r2_score"] = m.r2_score(y, pred, sample_weight=sw)
    return out


# ---------------------------------------------------------------- Keras


def _keras_module(mod):
    model = getattr(mod, "Model", None)
    cbs = getattr(mod, "callbacks", None)
    if model is None or cbs is None or not hasattr(cbs, "Callback"):
        return
    base = cbs.Callback

    class GitRunsCallback(base):
        """Logs each epoch's logs at step=epoch."""

        def on_epoch_end(self, epoch, logs=None):
            if logs:
                _safely("log epoch %d" % epoch, _run.log_metrics,
                        {k: v for k, v in logs.items() if _is_number(v)}, epoch)

    def make(orig):
        def fit(self, *args, **kwargs):
            cb = list(kwargs.get("callbacks") or [])
            if not any(isinstance(c, GitRunsCallback) for c in cb):
                cb.append(GitRunsCallback())
            kwargs["callbacks"] = cb
            own = _OwnRun()
            _safely("start a run", own.begin)
            _safely("log fit params", _keras_params, self, args, kwargs)
            try:
                result = orig(self, *args, **kwargs)
            except BaseException:
                own.end(failed=True)
                raise
            own.end()
            return result
        return fit
    for cls in model.__mro__:
        if "fit" in cls.__dict__:
            _patch(cls, "fit", make)
            break


def _keras_params(model, args, kwargs):
    p = {}
    for i, k in ((2, "batch_size"), (3, "epochs")):
        v = kwargs.get(k, args[i] if len(args) > i else None)
        if v is not None:
            p[k] = _param_value(v)
    if "epochs" not in p:
        p["epochs"] = 1
    opt = getattr(model, "optimizer", None)
    if opt is not None:
        p["optimizer_name"] = type(opt).__name__
    _run.log_params(p)


def _is_number(v):
    if isinstance(v, bool) or isinstance(v, (str, bytes)):
        return False
    if isinstance(v, (int, float)):
        return True
    return hasattr(v, "item")


# ---------------------------------------------------------------- Lightning


def _lightning_module(mod):
    trainer = getattr(mod, "Trainer", None)
    base = getattr(mod, "Callback", None)
    if trainer is None or base is None:
        return

    class GitRunsCallback(base):
        """Logs hparams at the start and callback_metrics each epoch."""

        def __init__(self):
            self._own = _OwnRun()

        def on_train_start(self, trainer, pl_module):
            _safely("start a run", self._own.begin)
            p = {}
            hp = getattr(pl_module, "hparams", None)
            if hp:
                p.update({str(k): _param_value(v) for k, v in dict(hp).items()})
            if getattr(trainer, "max_epochs", None) is not None:
                p["max_epochs"] = trainer.max_epochs
            if p:
                _safely("log hparams", _run.log_params, p)

        def on_train_epoch_end(self, trainer, pl_module):
            m = {k: v for k, v in dict(getattr(trainer, "callback_metrics", {}) or {}).items() if _is_number(v)}
            if m:
                _safely("log epoch metrics", _run.log_metrics, m, int(trainer.current_epoch))

        def on_train_end(self, trainer, pl_module):
            self._own.end()

        def on_exception(self, trainer, pl_module, exception):
            self._own.end(failed=True)

    def make(orig):
        def __init__(self, *args, **kwargs):
            cb = kwargs.get("callbacks")
            cb = [] if cb is None else (list(cb) if isinstance(cb, (list, tuple)) else [cb])
            cb.append(GitRunsCallback())
            kwargs["callbacks"] = cb
            orig(self, *args, **kwargs)
        return __init__
    _patch(trainer, "__init__", make)


# ---------------------------------------------------------------- Transformers


def _transformers_module(mod):
    trainer = getattr(mod, "Trainer", None)
    cbmod = sys.modules.get("transformers.trainer_callback")
    base = getattr(cbmod, "TrainerCallback", None) if cbmod is not None else None
    if trainer is None or base is None:
        return

    class GitRunsCallback(base):
        """Logs TrainingArguments at the start and each on_log's numbers."""

        def __init__(self):
            self._own = _OwnRun()

        def on_train_begin(self, args, state, control, **kwargs):
            _safely("start a run", self._own.begin)
            to_dict = getattr(args, "to_dict", None)
            if to_dict is not None:
                p = {k: _param_value(v) for k, v in to_dict().items()
                     if not isinstance(v, (dict, list)) and not k.startswith("_")}
                _safely("log training arguments", _run.log_params, p)

        def on_log(self, args, state, control, logs=None, **kwargs):
            m = {k: v for k, v in (logs or {}).items() if _is_number(v)}
            if m:
                _safely("log", _run.log_metrics, m, int(state.global_step))

        def on_train_end(self, args, state, control, **kwargs):
            self._own.end()

    def make(orig):
        def __init__(self, *args, **kwargs):
            cb = list(kwargs.get("callbacks") or [])
            cb.append(GitRunsCallback())
            kwargs["callbacks"] = cb
            orig(self, *args, **kwargs)
        return __init__
    _patch(trainer, "__init__", make)


# ---------------------------------------------------------------- import hook

# module name -> what patches it; top-level packages are what find_spec asks about.
_WATCH = {
    "keras": _keras_module,
    "lightning.pytorch": _lightning_module,
    "pytorch_lightning": _lightning_module,
    "transformers.trainer": _transformers_module,
}
_TOPS = ("sklearn", "keras", "lightning", "pytorch_lightning", "transformers")


FRAMEWORKS = ("sklearn", "keras", "lightning", "transformers")


def _framework(name):
    if name == "sklearn" or name.startswith("sklearn."):
        return "sklearn"
    if name in _WATCH:
        return {"pytorch_lightning": "lightning", "lightning.pytorch": "lightning",
                "transformers.trainer": "transformers"}.get(name, name)
    return None


def _patcher(name):
    fw = _framework(name)
    if fw is None or fw not in _enabled:
        return None
    return _sklearn_module if fw == "sklearn" else _WATCH[name]


def _apply(name, mod):
    f = _patcher(name)
    if f is not None:
        _applying[0] = _framework(name)
        try:
            _safely("patch %s" % name, f, mod)
        finally:
            _applying[0] = None


_PER_MODULE_LOADERS = (importlib.machinery.SourceFileLoader, importlib.machinery.SourcelessFileLoader,
                       importlib.machinery.ExtensionFileLoader)


class _Loader(object):
    """A loader that patches the module after its own loader ran it."""

    def __init__(self, loader, name):
        self._loader = loader
        self._name = name

    def create_module(self, spec):
        create = getattr(self._loader, "create_module", None)
        return create(spec) if create is not None else None

    def exec_module(self, module):
        self._loader.exec_module(module)
        _apply(self._name, module)

    def __getattr__(self, k):
        return getattr(self._loader, k)


class _Finder(object):
    """Patches watched modules right after they are executed."""

    def find_spec(self, fullname, path=None, target=None):
        if _patcher(fullname) is None:
            return None
        for finder in sys.meta_path:
            if finder is self or not hasattr(finder, "find_spec"):
                continue
            spec = finder.find_spec(fullname, path, target)
            if spec is not None:
                break
        else:
            return None
        loader = spec.loader
        orig = getattr(loader, "exec_module", None)
        if orig is None:
            return spec
        if isinstance(loader, _PER_MODULE_LOADERS):
            # A loader of this module alone: wrapping its method leaves
            # its type, which some code checks, as it is.
            def exec_module(module):
                orig(module)
                _apply(fullname, module)
            loader.exec_module = exec_module
        else:
            # A loader others may share (a zipimporter): wrapped apart.
            spec.loader = _Loader(loader, fullname)
        return spec

    def invalidate_caches(self):
        pass


def autolog(log_input_examples=False, log_model_signatures=True, log_models=True,
            log_datasets=True, disable=False, exclusive=False,
            disable_for_unsupported_versions=False, silent=False, frameworks=FRAMEWORKS, **kwargs):
    """Records params and metrics of scikit-learn, Keras, PyTorch Lightning
    and Transformers training from now on, importing none of them.
    disable=True undoes it. MLflow's other arguments are accepted; models,
    signatures and datasets are not logged. frameworks narrows it (as
    gitruns.sklearn.autolog() and the like do)."""
    global _hook
    _silent[0] = bool(silent)
    if disable:
        _enabled.difference_update(frameworks)
        keep = []
        for fw, owner, attr, orig in reversed(_patched):
            if fw in frameworks:
                setattr(owner, attr, orig)
            else:
                keep.append((fw, owner, attr, orig))
        _patched[:] = reversed(keep)
        if not _enabled and _hook is not None and _hook in sys.meta_path:
            sys.meta_path.remove(_hook)
            _hook = None
        return
    _enabled.update(frameworks)
    for name, mod in list(sys.modules.items()):
        if mod is not None and _patcher(name) is not None:
            _apply(name, mod)
    if _hook is None:
        wanted = [t for t in _TOPS if t not in sys.modules and _installed(t)]
        if wanted or any(t in sys.modules for t in _TOPS):
            _hook = _Finder()
            sys.meta_path.insert(0, _hook)


def _installed(top):
    try:
        return importlib.util.find_spec(top) is not None
    except (ImportError, ValueError):
        return False
