"""DCI (spdci.org) Social Registry sync-search client, in plain Python.

Nothing here knows the ORM: the registry import wizard and the background job
call these functions, and tests call them directly. What lives here:

* URL joining that keeps a path prefix of the server URL (:func:`join_url`);
* dotted-path mapping tolerant of the variations found in the standard's own
  examples (:func:`parse_path`, :func:`resolve`, :func:`extract_records`,
  :func:`map_record`);
* DCI sync-search envelopes that validate against the request schema
  (:func:`build_search_request`);
* the three error layers of a response (HTTP, acknowledgement, business
  status) (:func:`parse_search_response`, :class:`RegistryClient`);
* the page loop: which page to ask for next, when the registry has sent
  everything, and when its pagination contradicts itself (:class:`Pager`,
  shared by the preview and the import).

Every failure is a :class:`DCIError` with a short ``code`` and an English
message that never contains the client secret.
"""

import copy
import hashlib
import json
import re
import uuid
from datetime import datetime, timezone
from email.utils import formatdate
from urllib.parse import urlsplit, urlunsplit

import requests

DCI_VERSION = "1.0.0"
DEFAULT_TOKEN_ENDPOINT = "/oauth2/client/token"
DEFAULT_SEARCH_ENDPOINT = "/registry/sync/search"
DEFAULT_TOKEN_PATH = "access_token"
DEFAULT_TIMEOUT = 30
MIN_TIMEOUT = 1
MAX_TIMEOUT = 300
DEFAULT_PAGE_SIZE = 100
MAX_PAGE_SIZE = 5000
# Safety valve of the page loop: a registry that keeps sending new persons
# without ever reporting an end is stopped here.
MAX_PAGES = 100000
DEFAULT_LOCALE = "eng"
TOKEN_STYLE_FORM = "form"
TOKEN_STYLE_JSON = "json"
TOKEN_STYLES = (TOKEN_STYLE_FORM, TOKEN_STYLE_JSON)
QUERY_TYPES = ("idtype-value", "expression", "predicate", "graphql")
# A predicate query with no condition: "every person" for the registries that
# give it a meaning (OpenSPP); schema-valid everywhere.
DEFAULT_SEARCH_CRITERIA = {
    "reg_type": "ns:org:RegistryType:Social",
    "query_type": "predicate",
    "query": [],
}

# Subscriber field -> mapping key. "records" is the path (from the response
# root) to the list of person records; the others are relative to a record.
FIELD_KEYS = (
    "identifier",
    "family_name",
    "given_name",
    "addl_name",
    "gender",
    "email",
    "phone",
)
MAPPING_KEYS = ("records", *FIELD_KEYS)
REQUIRED_MAPPING_KEYS = ("records", "identifier", "family_name", "given_name")
PRESETS = {
    # DCI Social Registry API v1.0.0, core Person / SRPerson records.
    "dci": {
        "records": "message.search_response[*].data.reg_records",
        "identifier": "identifier.0.identifier_value",
        "family_name": "name.surname",
        "given_name": "name.given_name",
        "addl_name": "name.second_name",
        "gender": "sex",
        "email": "email.0",
        "phone": "phone_number.0",
    },
    # Upstream OpenSPP defaults: the 2023 "registry core" flavour emitted by
    # OpenSPP's spp_dci_api_server and OpenCRVS's DCI bridge.
    "legacy": {
        "records": "message.search_response[*].data.reg_records",
        "identifier": "identifier.0.identifier",
        "family_name": "familyName",
        "given_name": "givenName",
        "addl_name": "additionalName",
        "gender": "sex",
        "email": "email",
        "phone": "phoneNumbers.0.phone",
    },
}

GENDER_VALUES = {
    "m": "male",
    "male": "male",
    "f": "female",
    "female": "female",
    "o": "other",
    "other": "other",
    "u": "unknown",
    "unknown": "unknown",
}

# Reasons a record is skipped (code -> English label; the UI translates).
SKIP_REASONS = {
    "not_object": "record is not a JSON object",
    "missing_identifier": "missing identifier",
    "missing_names": "missing names",
    "wrong_type": "value of the wrong type",
    "invalid_value": "invalid value",
    "duplicate": "identifier used by a subscriber of another company",
}

WILDCARD = "*"
_MISSING = object()
_SEGMENT_RE = re.compile(r"\[(\d+|\*)\]")
_DOC_EXCERPT = 300


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


# ---------------------------------------------------------------------------
# URLs
# ---------------------------------------------------------------------------


def join_url(server_url, endpoint):
    """Join the registry's server URL and an endpoint path.

    Unlike ``urllib.parse.urljoin``, a path prefix of the server URL is kept:
    ``join_url("https://x.org/namespace/v1.0.0", "/registry/sync/search")``
    gives ``https://x.org/namespace/v1.0.0/registry/sync/search``. An endpoint
    that is itself an absolute http(s) URL is used as it is.
    """
    endpoint = (endpoint or "").strip()
    if re.match(r"^https?://", endpoint, re.IGNORECASE):
        check_url(endpoint)
        return endpoint
    server_url = (server_url or "").strip()
    check_url(server_url)
    parts = urlsplit(server_url)
    path = parts.path.rstrip("/")
    if endpoint:
        path = f"{path}/{endpoint.lstrip('/')}"
    return urlunsplit((parts.scheme, parts.netloc, path, parts.query, ""))


def check_url(url):
    """Raise a ``DCIError`` (``invalid_url``) unless ``url`` is http(s)."""
    parts = urlsplit(url or "")
    if parts.scheme.lower() not in ("http", "https") or not parts.netloc:
        raise DCIError(
            "invalid_url",
            f"'{url or ''}' is not an http(s) URL: set the registry server URL "
            "like https://registry.example.org/path.",
        )
    return url


# ---------------------------------------------------------------------------
# Dotted paths
# ---------------------------------------------------------------------------


def parse_path(path):
    """Split a dotted path into segments.

    ``"message.search_response[*].data"`` and ``"message.search_response.*.data"``
    both give ``["message", "search_response", "*", "data"]``; a segment made of
    digits is a list index (an ``int``). Raises ``DCIError`` (``config``) on an
    empty segment.
    """
    if isinstance(path, list | tuple):
        return list(path)
    text = _SEGMENT_RE.sub(r".\1", (path or "").strip())
    if not text:
        return []
    segments = []
    for segment in text.split("."):
        segment = segment.strip()
        if not segment:
            raise DCIError("config", f"'{path}' is not a valid dotted path.")
        segments.append(int(segment) if segment.isdigit() else segment)
    return segments


def resolve(data, path, default=None):
    """Follow a dotted path through parsed JSON, tolerantly.

    Tolerance, as needed by the DCI standard's own examples:

    * a numeric segment applied to an object is skipped (``identifier`` as a
      single object where a list was expected: ``identifier.0.identifier_value``
      still works);
    * a key applied to a list descends into the list's first element (``name``
      as a one-element list of Name objects: ``name.surname`` still works);
    * ``*`` (or ``[*]``) maps the rest of the path over every element of a list
      and returns the list of results found (a lone object counts as a list
      of one).

    Returns ``default`` when the path leads nowhere.
    """
    value = _resolve(data, parse_path(path))
    return default if value is _MISSING else value


def _resolve(value, segments):
    for index, segment in enumerate(segments):
        if segment == WILDCARD:
            items = value if isinstance(value, list) else [value]
            rest = segments[index + 1 :]
            nested = WILDCARD in rest
            results = []
            found = False  # an inner list found empty is found, not missing
            for item in items:
                result = _resolve(item, rest)
                if result is _MISSING:
                    continue
                found = True
                if nested:  # keep one flat list of leaves, whatever the depth
                    results.extend(result)
                else:
                    results.append(result)
            if items and not found:
                return _MISSING
            return results
        if isinstance(segment, int):
            if isinstance(value, list):
                if segment >= len(value):
                    return _MISSING
                value = value[segment]
            elif isinstance(value, dict):
                if str(segment) in value:
                    value = value[str(segment)]
                # else: a single object where a list was expected: skip.
            else:
                return _MISSING
        elif isinstance(value, dict):
            if segment not in value:
                return _MISSING
            value = value[segment]
        elif isinstance(value, list) and value and isinstance(value[0], dict):
            if segment not in value[0]:
                return _MISSING
            value = value[0][segment]
        else:
            return _MISSING
    return value


def _describe_missing(data, path):
    """Say how far ``path`` gets in ``data`` (for error messages)."""
    segments = parse_path(path)
    for length in range(len(segments) - 1, 0, -1):
        if _resolve(data, segments[:length]) is not _MISSING:
            found = ".".join(str(s) for s in segments[:length])
            missing = segments[length]
            return f"'{found}' exists but has no '{missing}' below it"
    if isinstance(data, dict):
        keys = ", ".join(sorted(str(k) for k in data)[:10]) or "none"
        return f"the response's top-level keys are: {keys}"
    return "the response is not an object"


def extract_records(body, records_path):
    """Return the list of person records found at ``records_path``.

    A wildcard path collects and concatenates the lists found under every
    element (``message.search_response[*].data.reg_records``); a lone object
    where a list was expected (registry-core ``reg_records``) is wrapped into
    a list; ``null`` means no record. Raises ``DCIError`` with code
    ``path_not_found`` or ``records_not_list``.
    """
    segments = parse_path(records_path)
    if not segments:
        raise DCIError("config", "The path to the list of person records is not set.")
    value = _resolve(body, segments)
    if value is _MISSING:
        raise DCIError(
            "path_not_found",
            f"Records path '{records_path}' not found in the registry's response: "
            f"{_describe_missing(body, segments)}.",
        )
    parts = value if WILDCARD in segments else [value]
    records = []
    for part in parts:
        if part is None:
            continue
        if isinstance(part, list):
            records.extend(part)
        elif isinstance(part, dict):
            records.append(part)
        else:
            raise DCIError(
                "records_not_list",
                f"Records path '{records_path}' must point to a list of person "
                f"records, not to a {_json_type(part)}.",
            )
    return records


def _json_type(value):
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


# ---------------------------------------------------------------------------
# Records -> subscriber values
# ---------------------------------------------------------------------------


class Skip(Exception):
    """A record cannot be imported; ``reason`` is a key of ``SKIP_REASONS``."""

    def __init__(self, reason, detail=""):
        super().__init__(detail or SKIP_REASONS.get(reason, reason))
        self.reason = reason
        self.detail = detail or SKIP_REASONS.get(reason, reason)


def _text(value, field):
    """Normalise a mapped value to a stripped string, or ``None`` if empty."""
    if value is None:
        return None
    if isinstance(value, list):
        values = [item for item in value if item not in (None, "")]
        if not values:
            return None
        if len(values) == 1 and not isinstance(values[0], list | dict):
            return _text(values[0], field)
        raise Skip("wrong_type", f"{field}: expected a text value, got a list")
    if isinstance(value, str):
        return value.strip() or None
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    raise Skip(
        "wrong_type", f"{field}: expected a text value, got a {_json_type(value)}"
    )


def normalize_gender(value):
    """Map a registry sex/gender code to the subscriber selection."""
    if value is None:
        return None
    gender = GENDER_VALUES.get(value.strip().lower())
    if not gender:
        raise Skip("invalid_value", f"gender: '{value}' is not a known value")
    return gender


def map_record(record, mapping):
    """Map one person record to subscriber values.

    Returns a dict with ``person_identifier`` and the optional keys
    ``family_name``, ``given_name``, ``addl_name``, ``gender``, ``email`` and
    ``phone``; a value that is absent or empty in the record is *left out*
    (so an update never wipes what is stored). Raises :class:`Skip` when the
    record cannot be imported.
    """
    if not isinstance(record, dict):
        raise Skip("not_object", f"record is a {_json_type(record)}, not an object")
    values = {}
    for key in FIELD_KEYS:
        path = mapping.get(key)
        if not path:
            continue
        value = _text_or_missing(_resolve(record, parse_path(path)), key)
        if value is _MISSING or value is None:
            continue
        values[key] = value
    if not values.get("identifier"):
        raise Skip("missing_identifier", f"no identifier at '{mapping['identifier']}'")
    if not (values.get("family_name") or values.get("given_name")):
        raise Skip(
            "missing_names",
            f"no family name at '{mapping.get('family_name')}' and no given name at "
            f"'{mapping.get('given_name')}'",
        )
    if "gender" in values:
        values["gender"] = normalize_gender(values["gender"])
    values["person_identifier"] = values.pop("identifier")
    return values


def _text_or_missing(value, field):
    return _MISSING if value is _MISSING else _text(value, field)


def check_mapping(mapping):
    """Validate a mapping dict; raise ``DCIError`` (``config``) when unusable."""
    missing = [key for key in REQUIRED_MAPPING_KEYS if not mapping.get(key)]
    if missing:
        raise DCIError(
            "config",
            "These mapping paths must be set: " + ", ".join(missing) + ".",
        )
    for key in MAPPING_KEYS:
        parse_path(mapping.get(key) or "")
    return mapping


# ---------------------------------------------------------------------------
# Requests
# ---------------------------------------------------------------------------


def utc_timestamp(now=None):
    """ISO 8601 date-time with a timezone (``2025-01-01T00:00:00.000Z``)."""
    now = now or datetime.now(timezone.utc)
    if now.tzinfo is None:
        now = now.replace(tzinfo=timezone.utc)
    return (
        now.astimezone(timezone.utc)
        .isoformat(timespec="milliseconds")
        .replace("+00:00", "Z")
    )


def parse_search_criteria(criteria):
    """Validate the configured ``search_criteria`` (a dict or a JSON text).

    It must be an object with a ``query_type`` of the DCI enumeration and a
    ``query`` of the matching shape. ``pagination`` is managed by the import
    and removed. Returns the cleaned dict; raises ``DCIError`` (``config``).
    """
    if isinstance(criteria, str):
        if not criteria.strip():
            return copy.deepcopy(DEFAULT_SEARCH_CRITERIA)
        try:
            criteria = json.loads(criteria)
        except ValueError as exc:
            raise DCIError("config", f"The search query is not valid JSON: {exc}.")
    if not isinstance(criteria, dict):
        raise DCIError("config", "The search query must be a JSON object.")
    criteria = copy.deepcopy(criteria)
    criteria.pop("pagination", None)
    query_type = criteria.get("query_type")
    if query_type not in QUERY_TYPES:
        raise DCIError(
            "config",
            f"The search query's 'query_type' must be one of {', '.join(QUERY_TYPES)}.",
        )
    if "query" not in criteria:
        raise DCIError("config", "The search query needs a 'query'.")
    query = criteria["query"]
    if query_type == "predicate" and not isinstance(query, list):
        raise DCIError("config", "A 'predicate' query must be a list of conditions.")
    if query_type in ("idtype-value", "expression") and not isinstance(query, dict):
        raise DCIError("config", f"An '{query_type}' query must be an object.")
    if "reg_type" in criteria and not isinstance(criteria["reg_type"], str):
        raise DCIError("config", "The search query's 'reg_type' must be a string.")
    return criteria


def build_search_request(
    *,
    sender_id,
    transaction_id,
    search_criteria,
    page_number,
    page_size,
    receiver_id=None,
    locale=DEFAULT_LOCALE,
    now=None,
):
    """One DCI sync-search envelope asking for one page.

    ``message_id`` and ``reference_id`` are new for every call; the
    ``transaction_id`` stays the same for all pages of one import run.
    """
    if page_number < 1 or page_size < 1:
        raise DCIError("config", "Page number and page size start at 1.")
    timestamp = utc_timestamp(now)
    criteria = parse_search_criteria(search_criteria)
    criteria = {"version": DCI_VERSION, **criteria}
    criteria["pagination"] = {"page_size": page_size, "page_number": page_number}
    header = {
        "version": DCI_VERSION,
        "message_id": str(uuid.uuid4()),
        "message_ts": timestamp,
        "action": "search",
        "sender_id": sender_id or "openspp-attendance",
    }
    if receiver_id:
        header["receiver_id"] = receiver_id
    header.update({"total_count": 1, "is_msg_encrypted": False})
    item = {
        "reference_id": str(uuid.uuid4()),
        "timestamp": timestamp,
        "search_criteria": criteria,
    }
    if locale:
        item["locale"] = locale
    return {
        "header": header,
        "message": {"transaction_id": transaction_id, "search_request": [item]},
    }


# ---------------------------------------------------------------------------
# Responses
# ---------------------------------------------------------------------------


def _as_count(value):
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str) and value.strip().isdigit():
        return int(value.strip())
    return None


def _reason(obj):
    code = obj.get("status_reason_code") or ""
    message = obj.get("status_reason_message") or ""
    text = " ".join(str(part) for part in (code, message) if part)
    return code, text[:_DOC_EXCERPT]


class Page:
    """One page of a sync search: its records and what the registry said.

    ``number`` is the page asked for; ``records`` the person records found
    at the records path; ``units`` the page's records as the registry counts
    them in its pagination (``data.reg_records``: a group is one, whatever
    persons the records path finds in it; default ``records``);
    ``total_count``, ``page_size`` and ``page_number`` are the registry's
    ``pagination`` (``None`` when absent or unusable, e.g. the samples' ``""``).
    """

    __slots__ = (
        "fingerprint",
        "number",
        "page_number",
        "page_size",
        "records",
        "total_count",
        "units",
    )

    def __init__(
        self,
        number,
        records,
        total_count,
        page_size=None,
        page_number=None,
        units=None,
    ):
        self.number = number
        self.records = records
        self.units = records if units is None else units
        self.total_count = total_count
        self.page_size = page_size
        self.page_number = page_number
        self.fingerprint = hashlib.sha1(
            json.dumps(self.units, sort_keys=True, default=str).encode()
        ).hexdigest()


def parse_search_response(body, records_path, reference_id=None, page_number=1):
    """Check a sync-search response's three error layers and return a Page.

    The parse is lenient about what the standard's own examples get wrong
    (string counts, missing header, ``rcvd`` status with data, null
    pagination) and strict about what means failure: an ack ``ERR``/``NACK``,
    a ``rjct`` status in the header or the answering item, or no data at all.
    """
    if not isinstance(body, dict):
        raise DCIError(
            "not_object",
            f"The registry answered with a JSON {_json_type(body)}, not an object.",
        )
    message = body.get("message")
    header = body.get("header") if isinstance(body.get("header"), dict) else {}
    if isinstance(message, dict) and message.get("ack_status") in ("ERR", "NACK"):
        error = message.get("error") if isinstance(message.get("error"), dict) else {}
        raise DCIError(
            "ack_error",
            "The registry refused the request ({status}): {code} {text}".format(
                status=message["ack_status"],
                code=error.get("code", ""),
                text=str(error.get("message", ""))[:_DOC_EXCERPT],
            ).strip(),
            reason_code=error.get("code"),
        )
    if header.get("status") == "rjct":
        code, text = _reason(header)
        raise DCIError(
            "rejected",
            f"The registry rejected the request (status rjct): {text or 'no reason'}.",
            reason_code=code,
        )
    item = {}
    items = message.get("search_response") if isinstance(message, dict) else None
    if isinstance(items, list) and items:
        dict_items = [i for i in items if isinstance(i, dict)]
        item = next(
            (
                i
                for i in dict_items
                if reference_id and i.get("reference_id") == reference_id
            ),
            dict_items[0] if dict_items else {},
        )
    status = item.get("status")
    if status == "rjct":
        code, text = _reason(item)
        raise DCIError(
            "rejected",
            f"The registry rejected the search (status rjct): {text or 'no reason'}.",
            reason_code=code,
        )
    if status in ("rcvd", "pdng") and not item.get("data"):
        raise DCIError(
            "not_ready",
            f"The registry accepted the search but sent no data yet (status {status}); "
            "it handles sync searches asynchronously (see /registry/sync/txn/status).",
        )
    records = extract_records(body, records_path)
    pagination = item.get("pagination")
    if not isinstance(pagination, dict):
        pagination = (
            body.get("pagination") if isinstance(body.get("pagination"), dict) else {}
        )
    size = _as_count(pagination.get("page_size"))
    number = _as_count(pagination.get("page_number"))
    return Page(
        page_number,
        records,
        _as_count(pagination.get("total_count")),
        page_size=size if size and size > 0 else None,
        page_number=number,
        units=_registry_records(items, records),
    )


def _registry_records(items, records):
    """The ``data.reg_records`` of every response item (the unit of the
    registry's pagination), or ``records`` when the response has none (a
    records path outside the DCI structure)."""
    units, found = [], False
    for item in items if isinstance(items, list) else ():
        data = item.get("data") if isinstance(item, dict) else None
        if not isinstance(data, dict) or "reg_records" not in data:
            continue
        found = True
        value = data["reg_records"]
        if isinstance(value, list):
            units.extend(value)
        elif value is not None:
            units.append(value)
    return units if found else records


class Pager:
    """The page loop: follows the registry's pagination to its last page.

    The preview and the import (foreground, background, resumed) all drive
    one of these, so they ask for the same pages and stop at the same place.
    :meth:`advance` checks a page against what the registry said before and
    raises ``DCIError`` when its answers contradict each other: ending
    "done" then would import part of the registry without a word.

    The rules, with ``n`` the records of the page:

    * a page number other than the one asked for, or a non-empty page equal
      to the page before: the registry ignores ``page_number`` (error). One
      exception: a registry that reports no pagination at all and answers page
      2 with page 1 when page 1 was not exactly the size asked for sends its
      whole result every time (OpenSPP's own DCI server does): page 1 was all
      of it, and the run ends there;
    * **total known** (``total_count``, the latest one; a page without it
      keeps the last one): stop once the records received reach it (records
      as the registry counts them: ``Page.units``). A short
      page before that is the registry's own page cap, not the end: carry on.
      An empty page before it, more records than it, or a total that shrinks
      is a contradiction (error). A total that grows is followed;
    * **no total**: an empty page ends it; a page shorter than the page size
      the registry reported as its own (one that differs from ours) ends it;
      any other page, full or short, is followed by the next one. A short page
      with only our own page size to compare with is ambiguous (last page, or
      a cap the registry does not report?): asking once more costs one
      request, guessing wrong loses persons silently;
    * a page holding more records than the page size the registry reported
      is a contradiction (error);
    * when page 1 reports a page size below ours, the following pages are
      asked with the registry's size, so that page N means the same records
      whether the registry counts its offsets in our size or in its own.

    The state is a plain dict (:meth:`to_dict`), so that a background import
    can keep it between pages and a resumed one carries on where it failed.
    """

    _STATE = (
        "page_size",
        "number",
        "request_size",
        "registry_size",
        "total",
        "received",
        "pages",
        "fingerprint",
        "done",
    )

    def __init__(
        self,
        page_size,
        *,
        number=1,
        request_size=None,
        registry_size=None,
        total=None,
        received=0,
        pages=0,
        fingerprint=None,
        done=False,
        max_pages=MAX_PAGES,
    ):
        self.page_size = page_size  # configured
        self.number = number  # next page to ask for
        self.request_size = request_size or page_size  # page size asked for
        self.registry_size = registry_size  # the registry's own, if it said
        self.total = total  # latest total_count reported
        self.received = received
        self.pages = pages
        self.fingerprint = fingerprint
        self.done = done
        self.max_pages = max_pages

    def to_dict(self):
        return {key: getattr(self, key) for key in self._STATE}

    @classmethod
    def from_dict(cls, state, **kwargs):
        state = {key: state[key] for key in cls._STATE if key in (state or {})}
        return cls(**state, **kwargs)

    @property
    def page_count(self):
        """Pages of the whole run, when the total is known."""
        return page_count(self.total, self.registry_size or self.request_size)

    def advance(self, page):
        """Take page ``self.number``; return True when it is the last one.

        Raises ``DCIError`` (``pagination_*``) without changing the state.
        """
        if self.done:
            raise DCIError("config", "The import has already read its last page.")
        number, count = self.number, len(page.units)
        said = self._said(page)
        if page.page_number is not None and page.page_number != number:
            raise DCIError(
                "pagination_loop",
                f"Asked for page {number}, the registry answered page "
                f"{page.page_number} ({said}): it does not follow the requested "
                "page number, so persons would be skipped or read twice.",
            )
        if count and page.fingerprint == self.fingerprint:
            if self._answers_everything_at_once(page, number):
                # The whole result came on page 1 (OpenSPP's own DCI server does
                # not paginate); this repeat adds nothing and ends the run.
                page.records, page.units = [], []
                self.pages += 1
                self.number = number + 1
                self.done = True
                return True
            raise DCIError(
                "pagination_loop",
                f"Page {number} holds the same {count} record(s) as page "
                f"{number - 1} ({said}): the registry seems to ignore the "
                "requested page number.",
            )
        registry_size = self.registry_size
        if page.page_size is not None and page.page_size != self.request_size:
            registry_size = page.page_size  # its own size, not an echo of ours
        if page.page_size is not None and count > page.page_size:
            raise DCIError(
                "pagination_inconsistent",
                f"Page {number} holds {count} record(s), more than the page size "
                f"the registry reported ({said}).",
            )
        total = self.total
        if page.total_count is not None:
            if total is not None and page.total_count < total:
                raise DCIError(
                    "pagination_inconsistent",
                    f"The registry reported {total} persons in total, then "
                    f"{page.total_count} on page {number} ({said}): its result "
                    "changed during the run or its count is wrong.",
                )
            total = page.total_count
        received = self.received + count
        if total is not None:
            if received > total:
                raise DCIError(
                    "pagination_inconsistent",
                    f"The registry has sent {received} record(s) by page {number}, "
                    f"more than the {total} it reported in total ({said}).",
                )
            if not count and received < total:
                raise DCIError(
                    "pagination_inconsistent",
                    f"Page {number} is empty, but the registry reported {total} "
                    f"persons in total and sent {received} so far ({said}): "
                    "it stopped sending persons it says it has.",
                )
            last = received >= total
        else:
            last = not count or bool(registry_size and count < registry_size)
        if not last and number >= self.max_pages:
            raise DCIError(
                "pagination_limit",
                f"Stopped after {number} pages: the registry keeps sending persons "
                f"({received} so far) without reporting an end. Narrow the search "
                "query or raise the page size.",
            )
        if (
            number == 1
            and page.page_size is not None
            and page.page_size < self.request_size
        ):
            self.request_size = page.page_size
        self.registry_size = registry_size
        self.total = total
        self.received = received
        self.pages += 1
        self.fingerprint = page.fingerprint
        self.number = number + 1
        self.done = last
        return last

    def _answers_everything_at_once(self, page, number):
        """True when page 2 repeats page 1 from a registry that reports no
        pagination at all and did not fill page 1 to the size asked for (fewer
        records: all there are; more: it ignores the page size). Such a registry
        sends its whole result every time. A page 1 of exactly the size asked
        for may be a cap at that size: repeating it stays an error."""
        return (
            number == 2
            and self.total is None
            and self.registry_size is None
            and page.total_count is None
            and page.page_size is None
            and page.page_number is None
            and self.received != self.request_size
        )

    @staticmethod
    def _said(page):
        def show(value):
            return "none" if value is None else value

        return (
            f"its answer: {len(page.records)} record(s), page_number "
            f"{show(page.page_number)}, page_size {show(page.page_size)}, "
            f"total_count {show(page.total_count)}"
        )


def page_count(total_count, page_size):
    """Number of pages for ``total_count`` records (``None`` if unknown)."""
    if total_count is None:
        return None
    return max(1, -(-total_count // page_size))


# ---------------------------------------------------------------------------
# HTTP client
# ---------------------------------------------------------------------------


def bounded_timeout(value):
    """A timeout in seconds, bounded to [MIN_TIMEOUT, MAX_TIMEOUT]."""
    try:
        value = float(value)
    except (TypeError, ValueError):
        return DEFAULT_TIMEOUT
    if value <= 0:
        return DEFAULT_TIMEOUT
    return min(max(value, MIN_TIMEOUT), MAX_TIMEOUT)


class RegistryClient:
    """Talks to one DCI registry: token endpoint and sync search.

    Holds the bearer token for the run (fetched lazily, refreshed once on a
    401). ``config`` keys: ``server_url``, ``token_endpoint``,
    ``search_endpoint``, ``client_id``, ``client_secret``, ``token_style``,
    ``token_path``, ``timeout``, ``sender_id``, ``receiver_id``,
    ``search_criteria``, ``page_size`` and ``mapping`` (see ``MAPPING_KEYS``).
    """

    def __init__(self, config, session=None):
        self.config = dict(config)
        self.mapping = check_mapping(dict(config.get("mapping") or {}))
        self.search_criteria = parse_search_criteria(
            config.get("search_criteria") or ""
        )
        self.page_size = int(config.get("page_size") or DEFAULT_PAGE_SIZE)
        if not 1 <= self.page_size <= MAX_PAGE_SIZE:
            raise DCIError(
                "config", f"The page size must be between 1 and {MAX_PAGE_SIZE}."
            )
        self.timeout = bounded_timeout(config.get("timeout", DEFAULT_TIMEOUT))
        server_url = config.get("server_url")
        self.token_url = join_url(
            server_url, config.get("token_endpoint") or DEFAULT_TOKEN_ENDPOINT
        )
        self.search_url = join_url(
            server_url, config.get("search_endpoint") or DEFAULT_SEARCH_ENDPOINT
        )
        self.token_style = config.get("token_style") or TOKEN_STYLE_FORM
        if self.token_style not in TOKEN_STYLES:
            raise DCIError(
                "config", f"Unknown token request style '{self.token_style}'."
            )
        self.session = session or requests.Session()
        self._token = None

    # -- helpers ----------------------------------------------------------

    def _redact(self, text):
        text = str(text or "")
        secret = self.config.get("client_secret")
        if secret:
            text = text.replace(secret, "***")
        return text

    def _excerpt(self, response):
        text = response.content[:_DOC_EXCERPT].decode("utf-8", "replace")
        text = " ".join(text.split())
        return self._redact(text)

    def _post(self, url, what, **kwargs):
        try:
            return self.session.post(url, timeout=self.timeout, **kwargs)
        except requests.exceptions.Timeout:
            raise DCIError(
                "timeout",
                f"The registry did not answer the {what} request within "
                f"{self.timeout:g} seconds ({url}).",
            )
        except requests.exceptions.ConnectionError:
            raise DCIError(
                "connection",
                f"Cannot connect to the registry at {url} for the {what} request "
                "(connection refused or host unreachable).",
            )
        except requests.exceptions.RequestException as exc:
            raise DCIError(
                "connection",
                f"The {what} request to {url} failed: {exc.__class__.__name__}.",
            )

    def _check_http(self, response, what):
        status = response.status_code
        if 200 <= status < 300:
            return
        excerpt = self._excerpt(response)
        if status in (401, 403):
            action = (
                "check the registry client id and secret"
                if what == "token"
                else "the registry does not accept our access token"
            )
            raise DCIError(
                f"http_{status}",
                f"The registry refused the {what} request (HTTP {status}): {action}. "
                f"Response: {excerpt}",
                status=status,
            )
        if status >= 500:
            raise DCIError(
                "http_5xx",
                f"The registry failed on the {what} request (HTTP {status}). "
                f"Response: {excerpt}",
                status=status,
            )
        raise DCIError(
            "http_error",
            f"The registry answered the {what} request with HTTP {status}. "
            f"Response: {excerpt}",
            status=status,
        )

    def _json(self, response, what):
        try:
            return json.loads(response.content)
        except ValueError:
            content_type = response.headers.get("Content-Type", "unknown")
            raise DCIError(
                "non_json",
                f"The registry's {what} response is not JSON (Content-Type "
                f"{content_type}): {self._excerpt(response)}",
            )

    # -- token --------------------------------------------------------------

    def fetch_token(self):
        """Get an access token with the client-credentials grant."""
        fields = {
            "grant_type": "client_credentials",
            "client_id": self.config.get("client_id") or "",
            "client_secret": self.config.get("client_secret") or "",
        }
        headers = {"Accept": "application/json", "timestamp": formatdate(usegmt=True)}
        if self.token_style == TOKEN_STYLE_JSON:
            response = self._post(self.token_url, "token", json=fields, headers=headers)
        else:
            response = self._post(self.token_url, "token", data=fields, headers=headers)
        self._check_http(response, "token")
        path = (self.config.get("token_path") or "").strip() or DEFAULT_TOKEN_PATH
        body = self._json(response, "token")
        token = resolve(body, path)
        if not isinstance(token, str) or not token.strip():
            keys = ", ".join(sorted(body)[:10]) if isinstance(body, dict) else ""
            raise DCIError(
                "token_missing",
                f"No access token at '{path}' in the token response "
                f"(keys found: {keys or 'none'}).",
            )
        token = token.strip()
        if token.lower().startswith("bearer "):
            token = token[7:].strip()
        self._token = token
        return token

    # -- search -------------------------------------------------------------

    def build_request(self, page_number, transaction_id, page_size=None):
        return build_search_request(
            sender_id=self.config.get("sender_id"),
            receiver_id=self.config.get("receiver_id"),
            transaction_id=transaction_id,
            search_criteria=self.search_criteria,
            page_number=page_number,
            page_size=page_size or self.page_size,
        )

    def search_page(self, page_number, transaction_id, page_size=None):
        """Fetch and check one page; returns a :class:`Page`."""
        envelope = self.build_request(page_number, transaction_id, page_size)
        reference_id = envelope["message"]["search_request"][0]["reference_id"]
        payload = json.dumps(envelope)
        for attempt in (1, 2):
            if not self._token:
                self.fetch_token()
            headers = {
                "Authorization": f"Bearer {self._token}",
                "Content-Type": "application/json",
                "Accept": "application/json",
            }
            response = self._post(
                self.search_url, "search", data=payload, headers=headers
            )
            if response.status_code == 401 and attempt == 1:
                self._token = None  # expired: fetch a new one and retry once
                continue
            break
        self._check_http(response, "search")
        body = self._json(response, "search")
        return parse_search_response(
            body,
            self.mapping["records"],
            reference_id=reference_id,
            page_number=page_number,
        )

    def pager(self):
        """A :class:`Pager` for a new run with the configured page size."""
        return Pager(self.page_size)

    def iter_pages(self, transaction_id=None, pager=None):
        """Yield every page until ``pager`` (default: a new one) says the
        registry has sent everything; raises ``DCIError`` when its
        pagination contradicts itself."""
        transaction_id = transaction_id or str(uuid.uuid4())
        pager = pager or self.pager()
        while not pager.done:
            page = self.search_page(pager.number, transaction_id, pager.request_size)
            pager.advance(page)
            yield page
