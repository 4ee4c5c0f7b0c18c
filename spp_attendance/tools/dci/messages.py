"""DCI sync-search messages: the request envelope and the response's checks.

:func:`build_search_request` builds envelopes that validate against the
request schema; :func:`parse_search_response` checks the three error layers of
a response (acknowledgement, header status, answering item's status) and
returns a :class:`Page` with the records and what the registry said about its
pagination.
"""

import copy
import hashlib
import json
import uuid
from datetime import datetime, timezone

from .errors import EXCERPT_LENGTH, DCIError, json_type
from .paths import extract_records

DCI_VERSION = "1.0.0"
DEFAULT_LOCALE = "eng"
QUERY_TYPES = ("idtype-value", "expression", "predicate", "graphql")
# A predicate query with no condition: "every person" for the registries that
# give it a meaning (OpenSPP); schema-valid everywhere.
DEFAULT_SEARCH_CRITERIA = {
    "reg_type": "ns:org:RegistryType:Social",
    "query_type": "predicate",
    "query": [],
}


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
    return code, text[:EXCERPT_LENGTH]


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
            f"The registry answered with a JSON {json_type(body)}, not an object.",
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
                text=str(error.get("message", ""))[:EXCERPT_LENGTH],
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
