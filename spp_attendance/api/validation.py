"""Parse and validate API requests against :mod:`.schemas`; errors become 4xx.

Nothing here touches the database: it turns raw bytes and query strings into
checked Python values, or raises :class:`ApiError` with the path of the bad field.
"""

import json
from datetime import date, datetime

from jsonschema import Draft202012Validator

from . import schemas

TRUE_VALUES = ("1", "true", "t", "y", "yes", "on")
FALSE_VALUES = ("0", "false", "f", "n", "no", "off")
MAX_DETAILS = 20
MAX_MESSAGE = 300


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
        return {"error": error}


def detail(path, reason, message):
    return {"path": path, "reason": reason, "message": message[:MAX_MESSAGE]}


def _path(error_path, root=""):
    parts = [root] if root else []
    parts += [str(part) for part in error_path]
    return "/".join(parts) or "(body)"


_VALIDATORS = {}


def _validator(schema):
    key = id(schema)
    if key not in _VALIDATORS:
        Draft202012Validator.check_schema(schema)
        _VALIDATORS[key] = Draft202012Validator(schema)
    return _VALIDATORS[key]


def _describe(error):
    """A short message that does not echo (possibly huge) input back."""
    field = error.path[-1] if error.path else "body"
    validator = error.validator
    if validator == "required":
        missing = error.message.split("'")[1] if "'" in error.message else "?"
        return "required", f"Missing required field: {missing}."
    if validator in ("type", "anyOf"):
        expected = error.schema.get("type") or [
            sub.get("type") for sub in error.schema.get("anyOf", [])
        ]
        return "type", f"{field} has the wrong type (expected {expected})."
    if validator == "pattern":
        return "format", f"{field} is not in the expected format."
    if validator in ("maxLength", "maxItems"):
        return "too_long", f"{field} is too long (at most {error.validator_value})."
    if validator in ("minLength", "minItems"):
        return "too_short", f"{field} must not be empty."
    if validator in ("minimum", "maximum"):
        return "out_of_range", f"{field} is out of range."
    return validator, f"{field} is invalid ({validator})."


def validate(schema, data, message="Invalid request body.", root=""):
    """Raise ``ApiError(400)`` listing every violation of ``schema`` in ``data``."""
    errors = sorted(
        _validator(schema).iter_errors(data), key=lambda e: list(map(str, e.path))
    )
    if errors:
        details = []
        for error in errors[:MAX_DETAILS]:
            reason, text = _describe(error)
            details.append(detail(_path(error.path, root), reason, text))
        missing = [
            error.message.split("'")[1]
            for error in errors
            if error.validator == "required" and not error.path and "'" in error.message
        ]
        if missing and not root:
            # Upstream's wording, which existing clients may show to users.
            raise ApiError(
                400, f"Missing required fields: {', '.join(missing)}", details
            )
        first = details[0]
        raise ApiError(400, f"{message} {first['path']}: {first['message']}", details)


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
        )
    try:
        data = json.loads(text)
    except (ValueError, RecursionError) as exc:
        raise ApiError(
            400,
            "data must be in JSON format.",
            [detail("(body)", "json", f"Invalid JSON: {exc}")],
        )
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


def parse_bool(name, value, default=False):
    if value is None or value == "":
        return default
    lowered = value.strip().lower()
    if lowered in TRUE_VALUES:
        return True
    if lowered in FALSE_VALUES:
        return False
    raise ApiError(
        400,
        f"{name} must be true or false.",
        [detail(f"query/{name}", "type", f"{name} must be true or false.")],
    )


def parse_query(args, names):
    """Read the query parameters ``names`` (declared in ``schemas.PARAMS``).

    Returns a dict with every name: the converted value, the declared default, or
    ``None``. Integers are range-checked, dates parsed; anything else is a 400 that
    names the parameter.
    """
    values = {}
    for name in names:
        spec = schemas.PARAMS[name]
        raw = args.get(name)
        if raw is None or raw == "":
            values[name] = spec.get("default")
            continue
        path = f"query/{name}"
        if "\x00" in raw:
            raise ApiError(
                400,
                f"{name} must not contain NUL characters.",
                [detail(path, "format", "NUL characters are not allowed.")],
            )
        if spec["type"] == "integer":
            text = raw.strip()
            if not text.lstrip("-").isdigit() or len(text) > 12:
                raise ApiError(
                    400,
                    f"{name} must be an integer.",
                    [detail(path, "type", f"{name} must be an integer.")],
                )
            number = int(text)
            low, high = spec.get("minimum"), spec.get("maximum")
            if (low is not None and number < low) or (
                high is not None and number > high
            ):
                raise ApiError(
                    400,
                    f"{name} must be between {low} and {high}.",
                    [detail(path, "out_of_range", f"{name} must be {low}..{high}.")],
                )
            values[name] = number
        elif spec.get("format") == "date":
            try:
                values[name] = date.fromisoformat(raw.strip())
            except ValueError:
                raise ApiError(
                    400,
                    f"{name} must be a date in the format YYYY-MM-DD.",
                    [detail(path, "format", f"{name} must be YYYY-MM-DD.")],
                )
        else:
            validate(spec, raw, f"Invalid query parameter {name}.", root=path)
            values[name] = raw
    return values


def parse_datetime(value, path):
    """A ``date_time`` value as a ``datetime``.

    ``"YYYY-MM-DD HH:MM:SS"`` (upstream) gives a naive datetime, to be read in the
    local time zone of the location or company; ISO 8601 with an offset or ``Z``
    gives an aware datetime.
    """
    text = value.strip()
    if text[-1:] in "Zz":
        text = text[:-1] + "+00:00"
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        moment = None
    if moment is None or not 1900 <= moment.year <= 2999:
        raise ApiError(
            400,
            f"{path}: invalid date and time {value[:40]!r}.",
            [detail(path, "format", "Use YYYY-MM-DD HH:MM:SS or ISO 8601.")],
        )
    return moment


def parse_optional_id(value):
    """An optional id (0, null, "" or absent: ``None``)."""
    if value in (None, "", 0, "0"):
        return None
    return int(value)


def normalize_category(value):
    return value.strip().lower() if value else "present"
