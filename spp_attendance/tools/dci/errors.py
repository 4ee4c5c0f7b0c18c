"""The error every registry exchange raises, and small helpers for messages."""

# Longest excerpt of a registry's answer quoted in a message.
EXCERPT_LENGTH = 300


class DCIError(Exception):
    """A registry exchange failed; ``code`` says how, ``message`` says why.

    Codes: ``config``, ``invalid_url``, ``connection``, ``timeout``,
    ``http_401``, ``http_403``, ``http_5xx``, ``http_error``, ``non_json``,
    ``not_object``, ``ack_error``, ``rejected``, ``not_ready``,
    ``token_missing``, ``path_not_found``, ``records_not_list``,
    ``pagination_loop`` (the registry ignores the requested page number),
    ``pagination_inconsistent`` (its pagination contradicts itself),
    ``pagination_limit`` (more than ``MAX_PAGES`` pages).
    """

    def __init__(self, code, message, *, status=None, reason_code=None):
        super().__init__(message)
        self.code = code
        self.message = message
        self.status = status
        self.reason_code = reason_code

    def __str__(self):
        return self.message


#: Error codes of failures that a later attempt may not meet: no connection, no
#: answer in time, or an HTTP status saying "later" (see TRANSIENT_STATUSES).
TRANSIENT_CODES = frozenset({"connection", "timeout"})
#: Too many requests, and a gateway or an overloaded registry. HTTP 500 is not
#: among them: usually a bug of the registry, which a retry meets again.
TRANSIENT_STATUSES = frozenset({429, 502, 503, 504})


def is_transient(error):
    """Whether a :class:`DCIError` is worth trying again later (a background
    page job waits and retries; the user of a preview just tries again)."""
    return error.code in TRANSIENT_CODES or error.status in TRANSIENT_STATUSES


def json_type(value):
    """The JSON name of a parsed value's type (for messages)."""
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "list"
    if isinstance(value, dict):
        return "object"
    return "null"
