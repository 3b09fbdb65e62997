"""Every error chatkb raises on purpose. Each knows its HTTP status; messages say what to do."""

from __future__ import annotations


class ChatkbError(Exception):
    """Base of all chatkb errors; the CLI prints ``message``, the server returns it as JSON."""

    status_code = 500
    code = "internal_error"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class ConfigError(ChatkbError):
    """Settings are invalid or name an unknown backend."""

    status_code = 400
    code = "config_error"


class NotFoundError(ChatkbError):
    """A knowledge base, document or chunk does not exist."""

    status_code = 404
    code = "not_found"


class AlreadyExistsError(ChatkbError):
    """Creating something that already exists."""

    status_code = 409
    code = "already_exists"


class InvalidInputError(ChatkbError):
    """A request or argument is malformed."""

    status_code = 422
    code = "invalid_input"


class LoadError(ChatkbError):
    """One file could not be read: corrupt, encrypted, empty, too large or of unknown type."""

    status_code = 422
    code = "load_error"


class EmbedderMismatchError(ChatkbError):
    """The configured embedder differs from the one a knowledge base was built with."""

    status_code = 409
    code = "embedder_mismatch"


class BackendUnavailableError(ChatkbError):
    """A model server or optional dependency cannot be reached or imported."""

    status_code = 503
    code = "backend_unavailable"

    def __init__(self, message: str, *, upstream_status: int | None = None) -> None:
        super().__init__(message)
        self.upstream_status = upstream_status  # the server's HTTP status, when it answered


class DeviceError(ChatkbError):
    """A requested device (e.g. cuda) cannot be honoured."""

    status_code = 503
    code = "device_error"


class UnauthorizedError(ChatkbError):
    """No API key, or an unknown one."""

    status_code = 401
    code = "unauthorized"


class ForbiddenError(ChatkbError):
    """The API key may not do this to this knowledge base."""

    status_code = 403
    code = "forbidden"


class PayloadTooLargeError(ChatkbError):
    """A request body, an uploaded file or the number of files is over its limit."""

    status_code = 413
    code = "payload_too_large"


class NotSupportedError(ChatkbError):
    """A feature of a compatible API that chatkb does not have (web search, agents, ...)."""

    status_code = 501
    code = "not_supported"


class UnsupportedOptionError(InvalidInputError):
    """A request option chatkb cannot honour (``n > 1`` on a knowledge base, ...)."""

    status_code = 400
    code = "unsupported_option"
