"""mlflow.keras's autolog, for scripts that call it by framework:
gitruns.autolog() limited to keras. Importing this module imports no
framework."""

from . import _autolog


def autolog(disable=False, silent=False, **kwargs):
    """gitruns.autolog(frameworks=('keras',)): see gitruns.autolog."""
    _autolog.autolog(disable=disable, silent=silent, frameworks=('keras',), **kwargs)
