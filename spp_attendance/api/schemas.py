"""Request and response schemas of the attendance REST API, declared once.

The controllers validate every request body and query string against these
declarations (:mod:`.validation`), and the served OpenAPI 3.1 document is built from
them (:mod:`.openapi`), so the document cannot drift from what the code accepts.
Schemas are JSON Schema 2020-12 (the dialect of OpenAPI 3.1).
"""

#: Largest ``limit`` of a list route; more is refused with 400.
MAX_LIMIT = 500
DEFAULT_LIMIT = 30
#: Most time cards in one POST/PUT, and most ids in one DELETE.
MAX_BATCH = 1000
#: Request bodies over this size are refused with 413 (bytes).
MAX_BODY_SIZE = 4 * 1024 * 1024
#: Longest free text accepted in a time card (description) and in short fields.
MAX_TEXT = 10_000
MAX_SHORT = 256
MAX_URL = 2048

DATE_PATTERN = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$"
#: ``YYYY-MM-DD HH:MM:SS`` (local time, upstream) or ISO 8601 with an offset or ``Z``.
DATETIME_PATTERN = (
    r"^[0-9]{4}-[0-9]{2}-[0-9]{2}[T ][0-9]{2}:[0-9]{2}(:[0-9]{2}(\.[0-9]{1,6})?)?"
    r"(Z|z|[+-][0-9]{2}:?[0-9]{2})?$"
)
CATEGORY_PATTERN = r"^([Pp][Rr][Ee][Ss][Ee][Nn][Tt]|[Aa][Bb][Ss][Ee][Nn][Tt])$"
UUID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,63}$"

# -- building blocks ------------------------------------------------------------------

ID_OR_NONE = {
    "description": "A database id; 0, null or absent means none. A string of digits "
    "is accepted for compatibility.",
    "anyOf": [
        {"type": "integer", "minimum": 0, "maximum": 2**31 - 1},
        {"type": "string", "pattern": "^[0-9]{1,10}$"},
        {"type": "null"},
    ],
}
TEXT_OR_NULL = {"type": ["string", "null"], "maxLength": MAX_TEXT}
SHORT_TEXT = {"type": "string", "minLength": 1, "maxLength": MAX_SHORT}
PERSON_ID = {
    "description": "The subscriber's person identifier (a number is accepted and "
    "read as text).",
    "anyOf": [
        {"type": "string", "minLength": 1, "maxLength": MAX_SHORT},
        {"type": "integer"},
    ],
}
DATETIME = {
    "type": "string",
    "pattern": DATETIME_PATTERN,
    "description": '"YYYY-MM-DD HH:MM:SS" in the local time of the location (or the '
    'company), or ISO 8601 with an offset or "Z".',
    "examples": ["2024-10-21 08:30:00", "2024-10-21T05:30:00Z"],
}
SUBMITTED_BY = {
    "description": "Who submitted the data (free text; a number is read as text).",
    "anyOf": [
        {"type": "string", "minLength": 1, "maxLength": MAX_SHORT},
        {"type": "integer"},
    ],
}

TIME_CARD_FIELDS = {
    "date_time": DATETIME,
    "attendance_type": ID_OR_NONE,
    "attendance_location": ID_OR_NONE,
    "attendance_category": {
        "type": ["string", "null"],
        "pattern": CATEGORY_PATTERN,
        "description": "present (default) or absent, in any letter case.",
    },
    "attendance_description": TEXT_OR_NULL,
    "attendance_external_url": {
        "type": ["string", "null"],
        "maxLength": MAX_URL,
        "description": "An http or https URL (evidence), or empty.",
    },
}

TIME_CARD_CREATE = {
    "type": "object",
    "required": ["date_time"],
    "properties": {
        **TIME_CARD_FIELDS,
        "uuid": {
            "type": ["string", "null"],
            "pattern": UUID_PATTERN,
            "description": "Client-generated id of this time card. Re-sending a card "
            "with the same uuid and content returns `unchanged` with the existing id "
            "(safe retries); the same uuid with other content is a conflict.",
        },
    },
}

TIME_CARD_UPDATE = {
    "type": "object",
    "properties": TIME_CARD_FIELDS,
    "description": "The fields to change; absent fields keep their value.",
}

SUBMISSION_FIELDS = {
    "submitted_by": SUBMITTED_BY,
    "submitted_datetime": {
        "type": "string",
        "pattern": DATETIME_PATTERN,
        "description": "When the client submitted the data (same formats as "
        "date_time; a naive value is read as UTC).",
    },
    "submission_source": {"type": ["string", "null"], "maxLength": MAX_SHORT},
}

SUBMIT_BODY = {
    "type": "object",
    "required": ["submitted_by", "submitted_datetime", "records"],
    "properties": {
        **SUBMISSION_FIELDS,
        "records": {
            "type": "array",
            "minItems": 1,
            "maxItems": MAX_BATCH,
            "items": {
                "type": "object",
                "required": ["person_id", "time_card"],
                "properties": {
                    "person_id": PERSON_ID,
                    "time_card": {
                        "type": "array",
                        "minItems": 1,
                        "maxItems": MAX_BATCH,
                        "items": TIME_CARD_CREATE,
                    },
                },
            },
        },
    },
}

UPDATE_BODY = {
    "type": "object",
    "required": ["submitted_by", "submitted_datetime", "records"],
    "properties": {
        **SUBMISSION_FIELDS,
        "records": {
            "type": "array",
            "minItems": 1,
            "maxItems": MAX_BATCH,
            "items": {
                "type": "object",
                "required": ["id", "time_card"],
                "properties": {
                    "id": {"type": "integer", "minimum": 1, "maximum": 2**31 - 1},
                    "time_card": TIME_CARD_UPDATE,
                },
            },
        },
    },
}

PERSON_IDS_BODY = {
    "type": "object",
    "properties": {
        "person_ids": {
            "type": ["array", "null"],
            "maxItems": MAX_LIMIT,
            "items": PERSON_ID,
        }
    },
    "description": "Upstream clients send this JSON body on GET /attendances; the "
    "`person_ids` query parameter is the standard alternative.",
}

# -- responses ------------------------------------------------------------------------

NAMED_REF = {
    "description": "{} when not set.",
    "type": "object",
    "properties": {
        "id": {"type": "integer"},
        "name": {"type": "string"},
        "description": {"type": ["string", "boolean"]},
    },
}
ATTENDANCE_ITEM = {
    "type": "object",
    "required": ["id", "date", "time", "attendance_category"],
    "properties": {
        "id": {"type": "integer"},
        "uuid": {"type": ["string", "null"]},
        "date": {"type": "string", "format": "date"},
        "time": {"type": "string", "pattern": "^[0-9]{2}:[0-9]{2}:[0-9]{2}$"},
        "attendance_category": {"type": "string", "enum": ["present", "absent"]},
        "attendance_type": NAMED_REF,
        "attendance_location": NAMED_REF,
        "attendance_description": {"type": "string"},
        "attendance_external_url": {"type": "string"},
        "submitted_by": {"type": "string"},
        "submitted_datetime": {"type": "string"},
        "submission_source": {"type": "string"},
    },
}
PAGINATION = {
    "type": "object",
    "required": ["page", "limit", "total_records", "total_pages"],
    "properties": {
        "page": {"type": "integer"},
        "limit": {"type": "integer"},
        "total_records": {"type": "integer"},
        "total_pages": {"type": "integer"},
    },
}
NEXT_CURSOR = {
    "type": ["string", "null"],
    "description": "Pass as `cursor` to get the next page; null on the last page.",
}
PERSON_ATTENDANCE = {
    "type": "object",
    "required": [
        "person_id",
        "dates_present",
        "number_of_days_present",
        "attendance_list",
    ],
    "properties": {
        "person_id": {"type": "string"},
        "dates_present": {
            "type": "array",
            "items": {"type": "string", "format": "date"},
            "description": "Distinct dates with a present record, ascending.",
        },
        "number_of_days_present": {"type": "integer"},
        "attendance_list": {"type": "array", "items": ATTENDANCE_ITEM},
    },
}
PERSON_HISTORY = {
    **PERSON_ATTENDANCE,
    "required": [*PERSON_ATTENDANCE["required"], "pagination"],
    "properties": {
        **PERSON_ATTENDANCE["properties"],
        "pagination": PAGINATION,
        "next_cursor": NEXT_CURSOR,
    },
}


def paged(item_schema):
    """A page of items: ``{"records": [...], "pagination", "next_cursor"}``."""
    return {
        "type": "object",
        "required": ["records", "pagination"],
        "properties": {
            "records": {"type": "array", "items": item_schema},
            "pagination": PAGINATION,
            "next_cursor": NEXT_CURSOR,
        },
    }


PERSONS_ATTENDANCE = paged(PERSON_ATTENDANCE)
ITEM_RESULT = {
    "type": "object",
    "required": ["status"],
    "properties": {
        "index": {"type": "integer", "description": "Position in the request."},
        "person_id": {"type": ["string", "null"]},
        "status": {
            "type": "string",
            "enum": ["created", "updated", "duplicate", "unchanged", "rejected"],
        },
        "id": {"type": ["integer", "null"]},
        "uuid": {"type": ["string", "null"]},
        "reason": {"type": "string"},
        "message": {"type": "string"},
    },
}
SUBMIT_RESPONSE = {
    "type": "object",
    "required": ["message", "person_ids", "results"],
    "properties": {
        "message": {
            "type": "string",
            "examples": ["Attendance list created successfully."],
        },
        "person_ids": {"type": "array", "items": {"type": "string"}},
        "results": {"type": "array", "items": ITEM_RESULT},
    },
}
UPDATE_RESPONSE = {
    "type": "object",
    "required": ["message", "results"],
    "properties": {
        "message": {
            "type": "string",
            "examples": ["Attendance list updated successfully."],
        },
        "results": {"type": "array", "items": ITEM_RESULT},
    },
}
DELETE_RESPONSE = {
    "type": "object",
    "required": ["message", "deleted_ids", "missing_ids"],
    "properties": {
        "message": {
            "type": "string",
            "examples": ["Attendance list deleted successfully."],
        },
        "deleted_ids": {"type": "array", "items": {"type": "integer"}},
        "missing_ids": {"type": "array", "items": {"type": "integer"}},
    },
}
NAMED_RECORDS = {
    "type": "object",
    "required": ["records"],
    "properties": {"records": {"type": "array", "items": NAMED_REF}},
}
SUBSCRIBER = {
    "type": "object",
    "required": ["id", "person_id"],
    "properties": {
        "id": {"type": "integer"},
        "person_id": {"type": "string"},
        "name": {"type": ["string", "boolean"]},
        "family_name": {"type": ["string", "boolean"]},
        "given_name": {"type": ["string", "boolean"]},
        "email": {"type": ["string", "boolean"]},
        "phone": {"type": ["string", "boolean"]},
        "mobile": {"type": ["string", "boolean"]},
    },
}
SUBSCRIBERS = paged(SUBSCRIBER)
ERROR = {
    "type": "object",
    "required": ["error"],
    "properties": {
        "error": {
            "type": "object",
            "required": ["code", "message"],
            "properties": {
                "code": {"type": "integer"},
                "message": {"type": "string"},
                "details": {
                    "type": "array",
                    "items": {
                        "type": "object",
                        "properties": {
                            "path": {"type": "string"},
                            "reason": {"type": "string"},
                            "message": {"type": "string"},
                        },
                    },
                },
            },
        }
    },
}

# -- query parameters -----------------------------------------------------------------

PARAMS = {
    "page": {"type": "integer", "minimum": 1, "maximum": 10**6, "default": 1},
    "limit": {
        "type": "integer",
        "minimum": 1,
        "maximum": MAX_LIMIT,
        "default": DEFAULT_LIMIT,
    },
    "cursor": {"type": "string", "maxLength": 200},
    "last_id": {
        "type": "integer",
        "minimum": 0,
        "maximum": 2**31 - 1,
        "description": "Upstream V19 cursor: only rows with a larger id.",
    },
    "from_date": {"type": "string", "format": "date", "pattern": DATE_PATTERN},
    "to_date": {"type": "string", "format": "date", "pattern": DATE_PATTERN},
    "attendance_type": {"type": "integer", "minimum": 0, "maximum": 2**31 - 1},
    "attendance_location": {"type": "integer", "minimum": 0, "maximum": 2**31 - 1},
    "attendance_category": {"type": "string", "pattern": CATEGORY_PATTERN},
    "person_ids": {
        "type": "string",
        # Percent-encoded, 4,000 characters fit the HTTP server's 64 KiB request
        # line whatever they are; send longer lists as a JSON body.
        "maxLength": 4_000,
        "description": "Comma-separated person identifiers.",
    },
    "person_id": {"type": "string", "minLength": 1, "maxLength": MAX_SHORT},
    "ignore_unique": {
        "type": "string",
        "description": "true/1/yes: skip duplicates (reported as `duplicate`) "
        "instead of failing.",
    },
    "atomic": {
        "type": "string",
        "description": "false/0/no: store every valid card and report the others "
        "(status 207 when some were rejected).",
    },
    "ids": {"type": "string", "maxLength": 20_000, "pattern": r"^[0-9, ]*$"},
}
FILTER_PARAMS = [
    "from_date",
    "to_date",
    "attendance_type",
    "attendance_location",
    "attendance_category",
]
PAGE_PARAMS = ["page", "limit", "cursor"]
