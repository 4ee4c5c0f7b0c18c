"""DCI (spdci.org) Social Registry sync-search client, in plain Python.

Nothing here knows the ORM: the registry import wizard and the background job
call it, and tests call it directly. One module per concern:

* :mod:`.urls`: joining the server URL (keeping its path prefix) and an
  endpoint (:func:`join_url`);
* :mod:`.paths`: the dotted-path dialect, tolerant of the variations found in
  the standard's own examples (:func:`parse_path`, :func:`resolve`,
  :func:`extract_records`);
* :mod:`.mapping`: person records to subscriber values, presets and skip
  reasons (:func:`map_record`, :data:`PRESETS`, :class:`Skip`);
* :mod:`.messages`: sync-search envelopes that validate against the request
  schema, and the three error layers of a response
  (:func:`build_search_request`, :func:`parse_search_response`, :class:`Page`);
* :mod:`.pagination`: the page loop, which page to ask for next, when the
  registry has sent everything and when its pagination contradicts itself
  (:class:`Pager`, shared by the preview and the import);
* :mod:`.client`: HTTP, OAuth2 token and retries (:class:`RegistryClient`).

Every failure is a :class:`DCIError` with a short ``code`` and an English
message that never contains the client secret. The names below are the public
API: ``from ..tools import dci`` then ``dci.RegistryClient``, ``dci.Pager``...
"""

from .client import (
    DEFAULT_BACKOFF_FACTOR,
    DEFAULT_PAGE_SIZE,
    DEFAULT_RETRIES,
    DEFAULT_RETRY_AFTER_MAX,
    DEFAULT_SEARCH_ENDPOINT,
    DEFAULT_TIMEOUT,
    DEFAULT_TOKEN_ENDPOINT,
    DEFAULT_TOKEN_PATH,
    MAX_PAGE_SIZE,
    MAX_RETRIES,
    MAX_TIMEOUT,
    MIN_TIMEOUT,
    RETRY_STATUSES,
    TOKEN_STYLE_FORM,
    TOKEN_STYLE_JSON,
    TOKEN_STYLES,
    RegistryClient,
    bounded_timeout,
    retry_policy,
    retrying_session,
)
from .errors import TRANSIENT_CODES, TRANSIENT_STATUSES, DCIError, is_transient
from .mapping import (
    FIELD_KEYS,
    GENDER_VALUES,
    MAPPING_KEYS,
    PRESETS,
    REQUIRED_MAPPING_KEYS,
    SKIP_REASONS,
    Skip,
    check_mapping,
    map_record,
    normalize_gender,
)
from .messages import (
    DCI_VERSION,
    DEFAULT_LOCALE,
    DEFAULT_SEARCH_CRITERIA,
    QUERY_TYPES,
    Page,
    build_search_request,
    parse_search_criteria,
    parse_search_response,
    utc_timestamp,
)
from .pagination import MAX_PAGES, Pager, page_count
from .paths import WILDCARD, extract_records, parse_path, resolve
from .urls import check_url, join_url

__all__ = [
    "DCI_VERSION",
    "DEFAULT_BACKOFF_FACTOR",
    "DEFAULT_LOCALE",
    "DEFAULT_PAGE_SIZE",
    "DEFAULT_RETRIES",
    "DEFAULT_RETRY_AFTER_MAX",
    "DEFAULT_SEARCH_CRITERIA",
    "DEFAULT_SEARCH_ENDPOINT",
    "DEFAULT_TIMEOUT",
    "DEFAULT_TOKEN_ENDPOINT",
    "DEFAULT_TOKEN_PATH",
    "FIELD_KEYS",
    "GENDER_VALUES",
    "MAPPING_KEYS",
    "MAX_PAGES",
    "MAX_PAGE_SIZE",
    "MAX_RETRIES",
    "MAX_TIMEOUT",
    "MIN_TIMEOUT",
    "PRESETS",
    "QUERY_TYPES",
    "REQUIRED_MAPPING_KEYS",
    "RETRY_STATUSES",
    "SKIP_REASONS",
    "TOKEN_STYLES",
    "TOKEN_STYLE_FORM",
    "TOKEN_STYLE_JSON",
    "TRANSIENT_CODES",
    "TRANSIENT_STATUSES",
    "WILDCARD",
    "DCIError",
    "Page",
    "Pager",
    "RegistryClient",
    "Skip",
    "bounded_timeout",
    "build_search_request",
    "check_mapping",
    "check_url",
    "extract_records",
    "is_transient",
    "join_url",
    "map_record",
    "normalize_gender",
    "page_count",
    "parse_path",
    "parse_search_criteria",
    "parse_search_response",
    "resolve",
    "retry_policy",
    "retrying_session",
    "utc_timestamp",
]
