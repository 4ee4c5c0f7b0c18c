"""Field types of the API contract: what a value may be, and how it is read.

Each type is a Pydantic annotation: its constraints both validate requests and appear
in the OpenAPI document. Requests are validated in strict mode (``true`` is not an
integer, ``"5"`` is not a number), with the leniencies of the upstream API spelled
out here, once.

Two kinds of failure:

- a value that breaks a constraint of the document (type, pattern, length, range)
  is reported with every other such value of the request (:mod:`.validation`);
- a value of the right shape that still cannot be read (an impossible date, a date
  range the wrong way round) raises :class:`Refusal`, reported on its own and only
  when the request has no error of the first kind, with its own message.
"""

from datetime import date, datetime
from typing import Annotated

from pydantic import (
    AfterValidator,
    BeforeValidator,
    Field,
    StringConstraints,
    ValidationError,
    WrapValidator,
)

#: Longest free text accepted in a time card (description) and in short fields.
MAX_TEXT = 10_000
MAX_SHORT = 256
MAX_URL = 2048
MAX_ID = 2**31 - 1

DATE_PATTERN = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$"
#: ``YYYY-MM-DD HH:MM:SS`` (local time, upstream) or ISO 8601 with an offset or ``Z``.
DATETIME_PATTERN = (
    r"^[0-9]{4}-[0-9]{2}-[0-9]{2}[T ][0-9]{2}:[0-9]{2}(:[0-9]{2}(\.[0-9]{1,6})?)?"
    r"(Z|z|[+-][0-9]{2}:?[0-9]{2})?$"
)
CATEGORY_PATTERN = r"^([Pp][Rr][Ee][Ss][Ee][Nn][Tt]|[Aa][Bb][Ss][Ee][Nn][Tt])$"

TRUE_VALUES = ("1", "true", "t", "y", "yes", "on")
FALSE_VALUES = ("0", "false", "f", "n", "no", "off")


class Refusal(ValueError):
    """A value of the right shape that cannot be accepted.

    ``message`` is the whole error message (``{path}`` and ``{name}`` are replaced
    by where the value is and its name); ``detail`` the message of its ``details``
    entry; ``path`` overrides where.
    """

    def __init__(self, reason, message, detail=None, path=None):
        super().__init__(message)
        self.reason = reason
        self.message = message
        self.detail = detail or message
        self.path = path


def _integral_float(value):
    # JSON Schema's "integer" is mathematical: 5.0 is one (the API always took it).
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def _one_type_error(value, handler):
    """A value that fits none of a union's types is one ``type`` error (as a
    JSON Schema ``anyOf``), not one error per type."""
    try:
        return handler(value)
    except ValidationError:
        raise ValueError("none of the types") from None


def json_int(minimum=None, maximum=None):
    """A JSON integer (5.0 included) within [minimum, maximum]."""
    return Annotated[
        int, Field(ge=minimum, le=maximum), BeforeValidator(_integral_float)
    ]


def _number_as_text(value):
    # Upstream read a number as text: str(1.0) == "1.0", as it always answered.
    if isinstance(value, float) and value.is_integer():
        return str(value)
    return value


def _as_text(value):
    return str(value).strip()


def _text_or_number(description):
    """Free text, or a number read as text (``person_id``, ``submitted_by``)."""
    return Annotated[
        Annotated[str, StringConstraints(min_length=1, max_length=MAX_SHORT)] | int,
        BeforeValidator(_number_as_text),
        WrapValidator(_one_type_error),
        AfterValidator(_as_text),
        Field(description=description),
    ]


PersonId = _text_or_number(
    "The subscriber's person identifier (a number is accepted and read as text)."
)
SubmittedBy = _text_or_number(
    "Who submitted the data (free text; a number is read as text)."
)


def _optional_id(value):
    if value in (None, "", 0, "0"):
        return None
    return int(value)


OptionalId = Annotated[
    json_int(0, MAX_ID)
    | Annotated[str, StringConstraints(pattern=r"^[0-9]{1,10}$")]
    | None,
    WrapValidator(_one_type_error),
    AfterValidator(_optional_id),
    Field(
        description="A database id; 0, null or absent means none. A string of digits "
        "is accepted for compatibility."
    ),
]
RecordId = json_int(1, MAX_ID)


def _datetime(value):
    """``"YYYY-MM-DD HH:MM:SS"`` (upstream) gives a naive datetime, read later in the
    local time zone of the location or company; ISO 8601 with an offset or ``Z`` an
    aware one."""
    text = value.strip()
    if text[-1:] in "Zz":
        text = text[:-1] + "+00:00"
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        moment = None
    if moment is None or not 1900 <= moment.year <= 2999:
        raise Refusal(
            "format",
            f"{{path}}: invalid date and time {value[:40]!r}.",
            "Use YYYY-MM-DD HH:MM:SS or ISO 8601.",
        )
    return moment


DateTimeText = Annotated[
    str,
    StringConstraints(pattern=DATETIME_PATTERN),
    AfterValidator(_datetime),
    Field(
        description='"YYYY-MM-DD HH:MM:SS" in the local time of the location (or the '
        'company), or ISO 8601 with an offset or "Z".',
        examples=["2024-10-21 08:30:00", "2024-10-21T05:30:00Z"],
    ),
]
Category = Annotated[
    Annotated[str, StringConstraints(pattern=CATEGORY_PATTERN)] | None,
    AfterValidator(lambda value: value.strip().lower() if value else "present"),
    Field(description="present (default) or absent, in any letter case."),
]
Text = Annotated[str, StringConstraints(max_length=MAX_TEXT)] | None
ShortText = Annotated[str, StringConstraints(max_length=MAX_SHORT)] | None
Url = Annotated[
    Annotated[str, StringConstraints(max_length=MAX_URL)] | None,
    AfterValidator(lambda value: (value or "").strip()),
    Field(description="An http or https URL (evidence), or empty."),
]

#: The RFC 4122 string form (8-4-4-4-12 hex digits, any letter case): what the
#: document asks for. The model (``spp.attendance.list._normalize_uuid``) reads it
#: and stores it in canonical (lower-case) form.
UUID_PATTERN = (
    r"^[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}$"
)
#: What the request check itself refuses as a whole (bad characters, too long): a
#: well-formed value that is not a UUID (``"not-a-uuid"``) passes it and is rejected
#: for its card only (reason ``invalid_uuid``), so that with ``atomic=false`` the
#: other cards are still stored. Every value of UUID_PATTERN passes it.
UUID_CHARACTERS = r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,63}$"
ClientUuid = Annotated[
    Annotated[
        str,
        StringConstraints(pattern=UUID_CHARACTERS),
        # The document states the format; the per-card check enforces it.
        Field(json_schema_extra={"pattern": UUID_PATTERN, "format": "uuid"}),
    ]
    | None,
    Field(
        description="Client-generated RFC 4122 UUID of this time card, e.g. "
        "123e4567-e89b-12d3-a456-426614174000 (any letter case; stored in lower "
        "case). For compatibility the same 32 hex digits without hyphens, or with a "
        "`urn:uuid:` prefix, are read too. Re-sending a card with the same uuid and "
        "content returns `unchanged` with the existing id (safe retries); the same "
        "uuid with other content is a conflict. A uuid that is not a UUID rejects "
        "its card with reason `invalid_uuid` (with atomic=false the other cards are "
        "stored)."
    ),
]

# -- query string values (always text) ------------------------------------------------


def _query(read):
    """A query parameter read by ``read(name_free_text)``; NUL characters refused."""

    def validate(value):
        if isinstance(value, str) and "\x00" in value:
            raise Refusal(
                "format",
                "{name} must not contain NUL characters.",
                "NUL characters are not allowed.",
            )
        return read(value) if read else value

    return BeforeValidator(validate)


def _query_int(value):
    text = value.strip()
    digits = text[1:] if text[:1] == "-" else text
    # Any decimal digits (int() reads them all), not other digits such as "²".
    if digits.isdecimal() and len(text) <= 12:
        return int(text)
    raise Refusal("type", "{name} must be an integer.")


def _query_date(value):
    try:
        return date.fromisoformat(value.strip())
    except ValueError:
        raise Refusal(
            "format",
            "{name} must be a date in the format YYYY-MM-DD.",
            "{name} must be YYYY-MM-DD.",
        ) from None


def _query_bool(value):
    lowered = value.strip().lower()
    if lowered in TRUE_VALUES:
        return True
    if lowered in FALSE_VALUES:
        return False
    raise Refusal("type", "{name} must be true or false.")


def QueryInt(minimum, maximum, description=None):
    return Annotated[
        int, Field(ge=minimum, le=maximum, description=description), _query(_query_int)
    ]


QueryDate = Annotated[
    date, Field(json_schema_extra={"pattern": DATE_PATTERN}), _query(_query_date)
]
QueryBool = Annotated[bool, _query(_query_bool)]


def QueryText(description=None, **constraints):
    return Annotated[
        str,
        StringConstraints(**constraints),
        Field(description=description),
        _query(None),
    ]
