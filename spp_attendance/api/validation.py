"""Read API requests with the contract's models; errors become the 4xx envelope.

Nothing here touches the database: raw bytes and query strings become validated
model instances, or :class:`ApiError` naming the bad field. Pydantic validates; this
module only words its errors the way the API always has (``details[].reason`` is
``required``, ``type``, ``format``, ``too_long``, ``too_short``, ``out_of_range``, ...)
without echoing the input back.
"""

import json
from functools import cache
from typing import Any

from pydantic import TypeAdapter, ValidationError

from . import schemas
from .types import Refusal

MAX_DETAILS = 20
MAX_MESSAGE = 300

#: Pydantic error types -> the API's reason (a "type" error is everything else that
#: says the value is of the wrong kind).
REASONS = {
    "missing": "required",
    "string_pattern_mismatch": "format",
    "string_too_long": "too_long",
    "too_long": "too_long",
    "string_too_short": "too_short",
    "too_short": "too_short",
    "greater_than_equal": "out_of_range",
    "less_than_equal": "out_of_range",
    "greater_than": "out_of_range",
    "less_than": "out_of_range",
}


class ApiError(Exception):
    """An error answered with the envelope ``{"error": {code, message, details}}``."""

    def __init__(self, status, message, details=None, headers=None):
        super().__init__(message)
        self.status = status
        self.message = message
        self.details = details or []
        self.headers = headers or []

    def to_dict(self):
        error = {"code": self.status, "message": self.message}
        if self.details:
            error["details"] = self.details
        return dump(schemas.Error, {"error": error})


def dump(model, payload):
    """``payload`` shaped by the response ``model``: the keys it has, as JSON."""
    return model.model_validate(payload).model_dump(mode="json", exclude_unset=True)


#: Answers whose payload the services build in their model's shape, one item
#: by one function (``services/history.py``): a person's history and a page of
#: persons' attendance, up to 1,000 records. They are written as built, not
#: validated again: validating 1,000 records was a quarter of a page of
#: ``/attendances`` (its p95 with 4 clients: 58 ms validated, 43 ms not). The
#: models still document them, and ``test_api_attendance`` checks that what
#: the services build is exactly what validation through the model gives, for
#: every kind of record.
BUILT_TO_SHAPE = frozenset({schemas.PersonHistory, schemas.PersonsAttendance})
#: Pydantic's serialiser of any value (dicts, lists, dates as ISO 8601).
_AS_BUILT = TypeAdapter(Any)


def dump_json(model, payload):
    """:func:`dump`, serialised: the UTF-8 JSON text, written by Pydantic's
    serialiser in one pass (a page of 1,000 records is not turned into Python
    dicts first and then encoded again by ``json.dumps``); see
    :data:`BUILT_TO_SHAPE` for the answers written as built."""
    if model in BUILT_TO_SHAPE:
        return _AS_BUILT.dump_json(payload)
    return model.model_validate(payload).model_dump_json(exclude_unset=True)


def detail(path, reason, message):
    return {"path": path, "reason": reason, "message": message[:MAX_MESSAGE]}


def _path(parts, root=""):
    return "/".join([root] * bool(root) + [str(part) for part in parts]) or "(body)"


@cache
def _schema(model):
    return model.model_json_schema()


def _expected(model, loc):
    """The JSON type(s) the document declares at ``loc``, as the API always named
    them (``integer``, ``['string', 'null']``)."""
    root = _schema(model)

    def resolve(node):
        while "$ref" in node:
            node = root["$defs"][node["$ref"].rsplit("/", 1)[1]]
        return node

    node = resolve(root)
    for part in loc:
        if "anyOf" in node:
            node = next(
                resolve(sub)
                for sub in node["anyOf"]
                if resolve(sub).get("type") not in (None, "null")
            )
        node = resolve(
            node["items"] if isinstance(part, int) else node["properties"][part]
        )
    return node.get("type") or [resolve(sub).get("type") for sub in node["anyOf"]]


def _describe(model, error, root):
    """``(path, reason, message)`` of one Pydantic error."""
    loc, kind = error["loc"], error["type"]
    if kind == "missing":
        return _path(loc[:-1], root), "required", f"Missing required field: {loc[-1]}."
    field = loc[-1] if loc else "body"
    reason = REASONS.get(kind, "type")
    if reason == "too_long":
        message = f"{field} is too long (at most {error['ctx']['max_length']})."
    elif reason == "too_short":
        message = f"{field} must not be empty."
    elif reason == "out_of_range":
        message = f"{field} is out of range."
    elif reason == "format":
        message = f"{field} is not in the expected format."
    else:
        message = f"{field} has the wrong type (expected {_expected(model, loc)})."
    return _path(loc, root), reason, message


def _refusal(error):
    """The :class:`~.types.Refusal` of a Pydantic error, else ``None``."""
    refusal = error.get("ctx", {}).get("error")
    return refusal if isinstance(refusal, Refusal) else None


def _refused(error, root=""):
    """The :class:`ApiError` of a value refused by a reader (:class:`.Refusal`)."""
    refusal = _refusal(error)
    path = refusal.path or _path(error["loc"], root)
    name = str(error["loc"][-1]) if error["loc"] else ""

    def word(text):
        return text.replace("{path}", path).replace("{name}", name)

    return ApiError(
        400, word(refusal.message), [detail(path, refusal.reason, word(refusal.detail))]
    )


def _sort_key(loc):
    return [(0, part) if isinstance(part, int) else (1, part) for part in loc]


def validate_body(model, data, message="Invalid request body."):
    """``data`` (decoded JSON) as a ``model`` instance, or ``ApiError(400)``.

    Every value that breaks the document is listed (the first in the message);
    only without those, the first value refused by a reader (an impossible date).
    """
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        errors = exc.errors(include_url=False, include_input=False)
    refusals = [error for error in errors if _refusal(error)]
    errors = [error for error in errors if not _refusal(error)]
    if not errors:
        raise _refused(min(refusals, key=lambda e: _sort_key(e["loc"]))) from None
    described = sorted(
        (_describe(model, error, "") for error in errors),
        key=lambda item: item[0].split("/") if item[0] != "(body)" else [],
    )
    details = [detail(*item) for item in described[:MAX_DETAILS]]
    missing = [
        error["loc"][0]
        for error in errors
        if error["type"] == "missing" and len(error["loc"]) == 1
    ]
    if missing:
        # Upstream's wording, which existing clients may show to users.
        raise ApiError(400, f"Missing required fields: {', '.join(missing)}", details)
    first = details[0]
    raise ApiError(400, f"{message} {first['path']}: {first['message']}", details)


def validate_query(model, args):
    """The query string ``args`` (a mapping of text) as a ``model`` instance, or
    ``ApiError(400)`` for the first bad parameter, in the order the model declares
    them. Empty parameters are absent."""
    present = {
        name: args.get(name)
        for name in model.model_fields
        if args.get(name) not in (None, "")
    }
    try:
        return model.model_validate(present)
    except ValidationError as exc:
        errors = exc.errors(include_url=False, include_input=False)
    # A missing parameter is reported only when all the others are valid.
    error = min(errors, key=lambda error: error["type"] == "missing")
    if _refusal(error):
        raise _refused(error, "query") from None
    name = error["loc"][0]
    path = f"query/{name}"
    if error["type"] == "missing":
        text = f"{name} is required."
        raise ApiError(400, text, [detail(path, "required", text)])
    if REASONS.get(error["type"]) == "out_of_range":
        bounds = _schema(model)["properties"][name]
        low, high = bounds.get("minimum"), bounds.get("maximum")
        raise ApiError(
            400,
            f"{name} must be between {low} and {high}.",
            [detail(path, "out_of_range", f"{name} must be {low}..{high}.")],
        )
    # A text parameter: worded as a body of its own (which is what it was).
    _where, reason, text = _describe(model, {**error, "loc": ()}, path)
    raise ApiError(
        400,
        f"Invalid query parameter {name}. {path}: {text}",
        [detail(path, reason, text)],
    )


def parse_json(raw, empty=None):
    """Decode a JSON request body; an empty body gives ``empty``."""
    if not raw or not raw.strip():
        return empty
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise ApiError(
            400,
            "data must be in JSON format.",
            [detail("(body)", "encoding", "The body is not valid UTF-8.")],
        ) from None
    try:
        data = json.loads(text)
    except (ValueError, RecursionError) as exc:
        raise ApiError(
            400,
            "data must be in JSON format.",
            [detail("(body)", "json", f"Invalid JSON: {exc}")],
        ) from None
    if "\\u0000" in text or "\x00" in text:
        path = find_nul(data)
        if path is not None:
            raise ApiError(
                400,
                f"{path} must not contain NUL characters.",
                [detail(path, "format", "NUL characters (\\u0000) are not allowed.")],
            )
    return data


def find_nul(data):
    """The path of the first string (value or key) holding a NUL character, else
    ``None``. PostgreSQL cannot store NUL in text, so such input is refused."""
    stack = [(data, "")]
    while stack:
        value, path = stack.pop()
        if isinstance(value, str):
            if "\x00" in value:
                return path or "(body)"
        elif isinstance(value, dict):
            for key, item in value.items():
                if "\x00" in key:
                    return path or "(body)"
                stack.append((item, f"{path}/{key}" if path else key))
        elif isinstance(value, list):
            stack.extend(
                (item, f"{path}/{index}" if path else str(index))
                for index, item in enumerate(value)
            )
    return None
