"""The HTTP side of one DCI registry: OAuth2 token, sync search, retries.

The client-credentials request body comes from ``oauthlib``'s
``BackendApplicationClient``; the HTTP goes through a ``requests`` session
whose adapter retries transient failures with ``urllib3``'s ``Retry``
(:func:`retry_policy`). Every failure is a :class:`~.errors.DCIError` whose
message never contains the client secret.
"""

import json
import time
import uuid
from email.utils import formatdate
from urllib.parse import parse_qsl

import requests
from oauthlib.oauth2 import BackendApplicationClient, OAuth2Error
from requests.adapters import HTTPAdapter
from urllib3.util import Retry

from .errors import EXCERPT_LENGTH, DCIError
from .mapping import check_mapping
from .messages import (
    build_search_request,
    parse_search_criteria,
    parse_search_response,
)
from .pagination import Pager
from .paths import resolve
from .urls import join_url

DEFAULT_TOKEN_ENDPOINT = "/oauth2/client/token"
DEFAULT_SEARCH_ENDPOINT = "/registry/sync/search"
DEFAULT_TOKEN_PATH = "access_token"
DEFAULT_TIMEOUT = 30
MIN_TIMEOUT = 1
MAX_TIMEOUT = 300
DEFAULT_PAGE_SIZE = 100
MAX_PAGE_SIZE = 5000
TOKEN_STYLE_FORM = "form"
TOKEN_STYLE_JSON = "json"
TOKEN_STYLES = (TOKEN_STYLE_FORM, TOKEN_STYLE_JSON)
# Retries of a request that failed transiently (config keys ``retries``,
# ``backoff_factor``, ``retry_after_max``): few and short, since a web request
# (the preview, "Import now") may be waiting. A failed page can be resumed.
DEFAULT_RETRIES = 2
MAX_RETRIES = 5
DEFAULT_BACKOFF_FACTOR = 0.5  # waits 0, then 1 s, then 2 s...
MAX_BACKOFF_FACTOR = 5
DEFAULT_RETRY_AFTER_MAX = 10  # the longest Retry-After honoured, in seconds
RETRY_STATUSES = (429, 502, 503, 504)
# A token is fetched again this many seconds before the expiry it announced.
TOKEN_EXPIRY_MARGIN = 30


def _bounded(value, default, low, high, cast=float):
    """``value`` as a number bounded to [low, high] (``default`` if unusable)."""
    try:
        value = cast(value)
    except (TypeError, ValueError):
        return default
    return min(max(value, low), high)


class _Retry(Retry):
    """``Retry`` with the wait a registry asks for (``Retry-After``) capped at
    ``retry_after_max``: a registry asking for an hour must not hold a web
    request or the background job for an hour (the page fails, and can be
    resumed). An unreadable ``Retry-After`` falls back to the backoff."""

    def __init__(self, *args, retry_after_max=DEFAULT_RETRY_AFTER_MAX, **kwargs):
        super().__init__(*args, **kwargs)
        self.retry_after_max = retry_after_max

    def new(self, **kwargs):
        retry = super().new(**kwargs)
        retry.retry_after_max = self.retry_after_max
        return retry

    def get_retry_after(self, response):
        try:
            seconds = super().get_retry_after(response)
        except Exception:  # urllib3 raises InvalidHeader on a malformed date
            return None
        return None if seconds is None else min(seconds, self.retry_after_max)


def retry_policy(
    retries=DEFAULT_RETRIES,
    backoff_factor=DEFAULT_BACKOFF_FACTOR,
    retry_after_max=DEFAULT_RETRY_AFTER_MAX,
):
    """The retries of every registry request: a connection that could not be
    made, HTTP 502/503/504 (a gateway or an overloaded registry) and 429 (too
    many requests, waiting what its ``Retry-After`` says, capped), at most
    ``retries`` times, waiting ``backoff_factor`` x 2^(n-1) seconds before the
    n-th retry but the first (no wait). A read timeout is not retried (it
    would multiply the wait), nor is HTTP 500 (usually not transient). When
    the retries are spent, the last answer is checked as any other
    (``http_5xx``, ``http_error``, ``connection``)."""
    return _Retry(
        total=retries,
        connect=retries,
        read=False,  # re-raise a read timeout as it is: code "timeout"
        status=retries,
        other=0,
        status_forcelist=RETRY_STATUSES,
        # Both registry requests are POSTs, which urllib3 does not retry by
        # default (a POST may not be idempotent). These two are safe to send
        # again: the client-credentials grant only issues a token, and a DCI
        # sync search only reads the registry (it changes nothing there). The
        # retry sends the same envelope; with these failures the registry
        # either never saw the first one (no connection, a gateway error,
        # throttled) or answered nothing we used, so the page is read once.
        allowed_methods=frozenset({"POST"}),
        backoff_factor=backoff_factor,
        respect_retry_after_header=True,
        raise_on_status=False,
        retry_after_max=retry_after_max,
    )


def retrying_session(**policy):
    """A ``requests`` session that retries as :func:`retry_policy` says."""
    session = requests.Session()
    adapter = HTTPAdapter(max_retries=retry_policy(**policy))
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    return session


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

    Holds the bearer token for the run (fetched lazily, fetched again shortly
    before the expiry the registry announced, and once more on a 401).
    ``config`` keys: ``server_url``, ``token_endpoint``, ``search_endpoint``,
    ``client_id``, ``client_secret``, ``token_style``, ``token_path``,
    ``timeout``, ``sender_id``, ``receiver_id``, ``search_criteria``,
    ``page_size``, ``mapping`` (see ``MAPPING_KEYS``), and the retries
    (``retries``, ``backoff_factor``, ``retry_after_max``: see
    :func:`retry_policy`).
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
        self.retries = int(
            _bounded(config.get("retries"), DEFAULT_RETRIES, 0, MAX_RETRIES, int)
        )
        self.backoff_factor = _bounded(
            config.get("backoff_factor"), DEFAULT_BACKOFF_FACTOR, 0, MAX_BACKOFF_FACTOR
        )
        self.retry_after_max = _bounded(
            config.get("retry_after_max"), DEFAULT_RETRY_AFTER_MAX, 0, MAX_TIMEOUT
        )
        self.session = session or retrying_session(
            retries=self.retries,
            backoff_factor=self.backoff_factor,
            retry_after_max=self.retry_after_max,
        )
        self._token = None
        self._token_expires_at = None

    # -- helpers ----------------------------------------------------------

    def _redact(self, text):
        text = str(text or "")
        secret = self.config.get("client_secret")
        if secret:
            text = text.replace(secret, "***")
        return text

    def _excerpt(self, response):
        text = response.content[:EXCERPT_LENGTH].decode("utf-8", "replace")
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
        oauth = BackendApplicationClient(client_id=self.config.get("client_id") or "")
        # grant_type=client_credentials, client_id and client_secret in the
        # body (RFC 6749 section 4.4.2, as the DCI authz API says)
        body = oauth.prepare_request_body(
            include_client_id=True,
            client_secret=self.config.get("client_secret") or "",
        )
        headers = {"Accept": "application/json", "timestamp": formatdate(usegmt=True)}
        if self.token_style == TOKEN_STYLE_JSON:
            fields = dict(parse_qsl(body, keep_blank_values=True))
            response = self._post(self.token_url, "token", json=fields, headers=headers)
        else:
            headers["Content-Type"] = "application/x-www-form-urlencoded"
            response = self._post(self.token_url, "token", data=body, headers=headers)
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
        self._token_expires_at = self._expiry(oauth, token, body)
        return token

    @staticmethod
    def _expiry(oauth, token, body):
        """When the token expires (epoch seconds), from the response's
        ``expires_in`` (a number, or a string as in the DCI schema), or
        ``None`` when it says nothing usable (then only a 401 renews it)."""
        expires_in = body.get("expires_in") if isinstance(body, dict) else None
        if expires_in in (None, ""):
            return None
        token_fields = {
            "access_token": token,
            "token_type": "Bearer",
            "expires_in": expires_in,
        }
        try:
            return oauth.parse_request_body_response(json.dumps(token_fields)).get(
                "expires_at"
            )
        except (OAuth2Error, ValueError, TypeError):
            return None

    def _token_expired(self):
        return bool(
            self._token_expires_at
            and self._token_expires_at - TOKEN_EXPIRY_MARGIN < time.time()
        )

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
            if not self._token or self._token_expired():
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
