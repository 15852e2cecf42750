"""mlflow.transformers's autolog, for scripts that call it by framework:
gitruns.autolog() limited to transformers. Importing this module imports no
framework."""

from . import _autolog


def autolog(disable=False, silent=False, **kwargs):
    """gitruns.autolog(frameworks=('transformers',)): see gitruns.autolog."""
    _autolog.autolog(disable=disable, silent=silent, frameworks=('transformers',), **kwargs)
