"""MLflow's exception type, so that ``except MlflowException`` keeps working
under ``import gitruns as mlflow``.

Every error gitruns raises for a bad call or a failed git-runs command is an
MlflowException. Those about bad values are ValueError or TypeError too, and
a failed command is GitRunsError (a RuntimeError), as they were before.
"""

INTERNAL_ERROR = "INTERNAL_ERROR"
INVALID_PARAMETER_VALUE = "INVALID_PARAMETER_VALUE"
RESOURCE_DOES_NOT_EXIST = "RESOURCE_DOES_NOT_EXIST"
RESOURCE_ALREADY_EXISTS = "RESOURCE_ALREADY_EXISTS"
INVALID_STATE = "INVALID_STATE"
BAD_REQUEST = "BAD_REQUEST"


class MlflowException(Exception):
    """An error as MLflow reports it: a message and an error_code (one of
    the constants of this module, MLflow's names)."""

    error_code_default = INTERNAL_ERROR

    def __init__(self, message, error_code=None, **kwargs):
        self.message = str(message)
        self.error_code = error_code or self.error_code_default
        self.json_kwargs = kwargs
        super(MlflowException, self).__init__(self.message)

    def serialize_as_json(self):
        import json
        return json.dumps(dict(self.json_kwargs, error_code=self.error_code, message=self.message))

    def get_http_status_code(self):
        return {INVALID_PARAMETER_VALUE: 400, BAD_REQUEST: 400, INVALID_STATE: 400,
                RESOURCE_DOES_NOT_EXIST: 404, RESOURCE_ALREADY_EXISTS: 400}.get(self.error_code, 500)

    @classmethod
    def invalid_parameter_value(cls, message, **kwargs):
        return cls(message, error_code=INVALID_PARAMETER_VALUE, **kwargs)


class InvalidValueError(MlflowException, ValueError):
    """A bad key or value: ValueError and MlflowException(INVALID_PARAMETER_VALUE)."""

    error_code_default = INVALID_PARAMETER_VALUE


class InvalidTypeError(MlflowException, TypeError):
    """A value of the wrong type: TypeError and MlflowException(INVALID_PARAMETER_VALUE)."""

    error_code_default = INVALID_PARAMETER_VALUE


class GitRunsError(MlflowException, RuntimeError):
    """A git-runs command failed, or a call does not fit the run's state.
    error_code tells which, as MLflow would: RESOURCE_DOES_NOT_EXIST for an
    unknown run, INVALID_PARAMETER_VALUE for a changed param or bad value."""

    def __init__(self, message, error_code=None, **kwargs):
        super(GitRunsError, self).__init__(message, error_code or _code_of(str(message)), **kwargs)


class RestException(MlflowException):
    """MLflow's name for errors that came from a tracking server; gitruns
    raises MlflowException itself, this is here for except clauses."""


def _code_of(message):
    """The MLflow error code of a git-runs error message."""
    m = message.lower()
    if "no run" in m or "not found" in m or "no such" in m or "no experiment" in m or "has no " in m:
        return RESOURCE_DOES_NOT_EXIST
    if "already" in m and "exists" in m:
        return RESOURCE_ALREADY_EXISTS
    if "write-once" in m or "not a number" in m or "invalid" in m or "not allowed" in m \
            or "must be" in m or "out of range" in m or m.startswith("query:") or "expected" in m:
        return INVALID_PARAMETER_VALUE
    if "has ended" in m or "already active" in m or "has finished" in m:
        return INVALID_STATE
    return INTERNAL_ERROR
