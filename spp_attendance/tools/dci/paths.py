"""The dotted-path dialect of the mapping settings.

A path is a dotted path into parsed JSON; a number is a list index
(``identifier.0.identifier_value``) and ``[*]`` (or ``.*``) takes every element
of a list. :func:`resolve` follows a path tolerantly, as the DCI standard's own
examples need; :func:`extract_records` finds the list of person records in a
search response.
"""

import re
from functools import lru_cache

from .errors import DCIError, json_type

WILDCARD = "*"
# What lookup() returns when a path leads nowhere (None is a JSON value).
MISSING = object()
_SEGMENT_RE = re.compile(r"\[(\d+|\*)\]")


def parse_path(path):
    """Split a dotted path into segments.

    ``"message.search_response[*].data"`` and ``"message.search_response.*.data"``
    both give ``["message", "search_response", "*", "data"]``; a segment made of
    digits is a list index (an ``int``). Raises ``DCIError`` (``config``) on an
    empty segment.
    """
    if isinstance(path, list | tuple):
        return list(path)
    return list(_parse_text(path or ""))


# The import maps every record of a page with the same few paths.
@lru_cache(maxsize=256)
def _parse_text(path):
    text = _SEGMENT_RE.sub(r".\1", path.strip())
    if not text:
        return ()
    segments = []
    for segment in text.split("."):
        segment = segment.strip()
        if not segment:
            raise DCIError("config", f"'{path}' is not a valid dotted path.")
        segments.append(int(segment) if segment.isdigit() else segment)
    return tuple(segments)


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
    value = lookup(data, parse_path(path))
    return default if value is MISSING else value


def lookup(value, segments):
    for index, segment in enumerate(segments):
        if segment == WILDCARD:
            items = value if isinstance(value, list) else [value]
            rest = segments[index + 1 :]
            nested = WILDCARD in rest
            results = []
            found = False  # an inner list found empty is found, not missing
            for item in items:
                result = lookup(item, rest)
                if result is MISSING:
                    continue
                found = True
                if nested:  # keep one flat list of leaves, whatever the depth
                    results.extend(result)
                else:
                    results.append(result)
            if items and not found:
                return MISSING
            return results
        if isinstance(segment, int):
            if isinstance(value, list):
                if segment >= len(value):
                    return MISSING
                value = value[segment]
            elif isinstance(value, dict):
                if str(segment) in value:
                    value = value[str(segment)]
                # else: a single object where a list was expected: skip.
            else:
                return MISSING
        elif isinstance(value, dict):
            if segment not in value:
                return MISSING
            value = value[segment]
        elif isinstance(value, list) and value and isinstance(value[0], dict):
            if segment not in value[0]:
                return MISSING
            value = value[0][segment]
        else:
            return MISSING
    return value


def describe_missing(data, path):
    """Say how far ``path`` gets in ``data`` (for error messages)."""
    segments = parse_path(path)
    for length in range(len(segments) - 1, 0, -1):
        if lookup(data, segments[:length]) is not MISSING:
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
    value = lookup(body, segments)
    if value is MISSING:
        raise DCIError(
            "path_not_found",
            f"Records path '{records_path}' not found in the registry's response: "
            f"{describe_missing(body, segments)}.",
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
                f"records, not to a {json_type(part)}.",
            )
    return records
