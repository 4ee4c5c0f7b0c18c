"""Registry URLs: joining the server URL (and its path prefix) to an endpoint."""

import re
from urllib.parse import urlsplit, urlunsplit

from .errors import DCIError


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
