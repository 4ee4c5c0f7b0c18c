"""Person records -> subscriber values: the mapping keys, presets and rules."""

from .errors import DCIError, json_type
from .paths import MISSING, lookup, parse_path

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
        "wrong_type", f"{field}: expected a text value, got a {json_type(value)}"
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
        raise Skip("not_object", f"record is a {json_type(record)}, not an object")
    values = {}
    for key in FIELD_KEYS:
        path = mapping.get(key)
        if not path:
            continue
        value = _text_or_missing(lookup(record, parse_path(path)), key)
        if value is MISSING or value is None:
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
    return MISSING if value is MISSING else _text(value, field)


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
