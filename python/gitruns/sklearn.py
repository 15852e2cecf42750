"""mlflow.sklearn's autolog, for scripts that call it by framework:
gitruns.autolog() limited to sklearn. Importing this module imports no
framework."""

from . import _autolog


def autolog(disable=False, silent=False, **kwargs):
    """gitruns.autolog(frameworks=('sklearn',)): see gitruns.autolog."""
    _autolog.autolog(disable=disable, silent=silent, frameworks=('sklearn',), **kwargs)
