"""The routes of the attendance API and the OpenAPI 3.1 document built from them.

``ROUTES`` is the single list of routes: the controllers look up their body schema
and query parameters here, and :func:`openapi_document` publishes the same
declarations at ``GET /api/openapi.json``.
"""

from collections import namedtuple

from . import schemas as s

Route = namedtuple(
    "Route", "method path operation summary scope params body responses tags"
)


def _error(description):
    return (description, s.ERROR)


AUTH_ERRORS = {
    401: _error("Missing, malformed, expired or revoked bearer token."),
    403: _error("The token lacks the scope this route needs."),
}
COMMON_ERRORS = {
    400: _error("Invalid request: the error names the field and why."),
    **AUTH_ERRORS,
}
LIST_PARAMS = [*s.PAGE_PARAMS, *s.FILTER_PARAMS]

ROUTES = [
    Route(
        "post",
        "/attendances",
        "submitAttendances",
        "Submit attendance time cards for one or more persons",
        "write",
        ["ignore_unique", "atomic"],
        s.SUBMIT_BODY,
        {
            200: ("Every card was stored, unchanged or skipped.", s.SUBMIT_RESPONSE),
            207: (
                "atomic=false and some cards were rejected; see `results`.",
                s.SUBMIT_RESPONSE,
            ),
            **COMMON_ERRORS,
            409: _error("A card's uuid was already used for different content."),
            413: _error("Request body too large."),
        },
        ["attendance"],
    ),
    Route(
        "put",
        "/attendances",
        "updateAttendances",
        "Update attendance records (atomic: all or nothing)",
        "write",
        [],
        s.UPDATE_BODY,
        {
            200: ("Every record was updated.", s.UPDATE_RESPONSE),
            **COMMON_ERRORS,
            404: _error("An attendance id does not exist."),
            409: _error("The change would create a duplicate."),
            413: _error("Request body too large."),
        },
        ["attendance"],
    ),
    Route(
        "delete",
        "/attendances",
        "deleteAttendances",
        "Remove attendance records (archived: recoverable and audited)",
        "write",
        ["ids"],
        None,
        {
            200: ("The existing records were removed.", s.DELETE_RESPONSE),
            **COMMON_ERRORS,
            404: _error("None of the ids exists."),
        },
        ["attendance"],
    ),
    Route(
        "get",
        "/attendances",
        "listAttendances",
        "Attendance of many persons, paginated over persons",
        "read",
        [*LIST_PARAMS, "person_ids", "last_id"],
        None,
        {200: ("One object per person.", s.PERSONS_ATTENDANCE), **COMMON_ERRORS},
        ["attendance"],
    ),
    Route(
        "get",
        "/attendance/types",
        "listAttendanceTypes",
        "Attendance types",
        "read",
        [],
        None,
        {200: ("All active types.", s.NAMED_RECORDS), **AUTH_ERRORS},
        ["configuration"],
    ),
    Route(
        "get",
        "/attendance/locations",
        "listAttendanceLocations",
        "Attendance locations",
        "read",
        [],
        None,
        {200: ("All active locations.", s.NAMED_RECORDS), **AUTH_ERRORS},
        ["configuration"],
    ),
    Route(
        "get",
        "/attendance",
        "getPersonAttendanceByQuery",
        "One person's attendance; addresses every identifier (e.g. `types`, `a/b`)",
        "read",
        ["person_id", *LIST_PARAMS],
        None,
        {
            200: ("The person's attendance, paginated.", s.PERSON_HISTORY),
            **COMMON_ERRORS,
            404: _error("Unknown person."),
        },
        ["attendance"],
    ),
    Route(
        "get",
        "/attendance/{person_id}",
        "getPersonAttendance",
        "One person's attendance, paginated",
        "read",
        LIST_PARAMS,
        None,
        {
            200: ("The person's attendance, paginated.", s.PERSON_HISTORY),
            **COMMON_ERRORS,
            404: _error("Unknown person."),
        },
        ["attendance"],
    ),
    Route(
        "get",
        "/subscribers",
        "listSubscribers",
        "Subscribers, paginated",
        "read",
        [*s.PAGE_PARAMS, "last_id"],
        None,
        {200: ("A page of subscribers.", s.SUBSCRIBERS), **COMMON_ERRORS},
        ["subscribers"],
    ),
    Route(
        "get",
        "/subscriber",
        "getSubscriberByQuery",
        "One subscriber; addresses every identifier",
        "read",
        ["person_id"],
        None,
        {
            200: ("The subscriber.", s.SUBSCRIBER),
            **COMMON_ERRORS,
            404: _error("Unknown person."),
        },
        ["subscribers"],
    ),
    Route(
        "get",
        "/subscriber/{person_id}",
        "getSubscriber",
        "One subscriber",
        "read",
        [],
        None,
        {
            200: ("The subscriber.", s.SUBSCRIBER),
            **COMMON_ERRORS,
            404: _error("Unknown person."),
        },
        ["subscribers"],
    ),
]

_BY_OPERATION = {route.operation: route for route in ROUTES}


def route(operation):
    """The declaration of one route, by its OpenAPI operation id."""
    return _BY_OPERATION[operation]


OAUTH_ERROR = {
    "type": "object",
    "required": ["error"],
    "properties": {
        "error": {
            "type": "string",
            "enum": [
                "invalid_request",
                "invalid_client",
                "unsupported_grant_type",
                "invalid_scope",
                "slow_down",
                "request_too_large",
            ],
        },
        "error_description": {"type": "string"},
    },
}
TOKEN_ROUTE = {
    "post": {
        "operationId": "issueToken",
        "summary": "Client-credentials token (RFC 6749 form, or upstream JSON body)",
        "tags": ["authentication"],
        "security": [],
        "requestBody": {
            "required": True,
            "content": {
                "application/x-www-form-urlencoded": {
                    "schema": {
                        "type": "object",
                        "properties": {
                            "grant_type": {"type": "string"},
                            "client_id": {"type": "string"},
                            "client_secret": {"type": "string"},
                            "scope": {"type": "string"},
                        },
                    }
                },
                "application/json": {
                    "schema": {
                        "type": "object",
                        "properties": {
                            "client_id": {"type": "string"},
                            "client_secret": {"type": "string"},
                        },
                    }
                },
            },
        },
        "responses": {
            "200": {
                "description": "A bearer token.",
                "content": {
                    "application/json": {
                        "schema": {
                            "type": "object",
                            "required": ["access_token", "token_type"],
                            "properties": {
                                "access_token": {"type": "string"},
                                "token_type": {"type": "string"},
                                "expires_in": {"type": "integer"},
                                "scope": {"type": "string"},
                            },
                        }
                    }
                },
            },
            **{
                str(code): {
                    "description": text,
                    "content": {"application/json": {"schema": OAUTH_ERROR}},
                }
                for code, text in (
                    (400, "invalid_request, unsupported_grant_type or invalid_scope."),
                    (401, "invalid_client: unknown client or wrong secret."),
                    (413, "Request body too large."),
                    (429, "Too many failed attempts; see Retry-After."),
                )
            },
        },
    }
}


def _parameter(name, where="query"):
    schema = dict(s.PARAMS[name]) if where == "query" else {"type": "string"}
    description = schema.pop("description", None)
    parameter = {"name": name, "in": where, "required": where == "path"}
    parameter["schema"] = schema
    if description:
        parameter["description"] = description
    return parameter


def _operation(route_):
    operation = {
        "operationId": route_.operation,
        "summary": route_.summary,
        "tags": route_.tags,
        "security": [{"bearer": []}, {"oauth2": [route_.scope]}],
        "parameters": [_parameter(name) for name in route_.params],
        "responses": {
            str(code): {
                "description": text,
                "content": {"application/json": {"schema": schema}},
            }
            for code, (text, schema) in route_.responses.items()
        },
    }
    if route_.params:
        # Refused by the HTTP server before the request reaches the API, as HTML.
        operation["responses"]["414"] = {
            "description": "The request line (path and query) is longer than 64 KiB, "
            "e.g. a very long `person_ids` of non-ASCII identifiers: send fewer."
        }
    if "{person_id}" in route_.path:
        operation["parameters"].insert(0, _parameter("person_id", "path"))
    if route_.body is not None:
        operation["requestBody"] = {
            "required": True,
            "content": {"application/json": {"schema": route_.body}},
        }
    if route_.operation == "listAttendances":
        operation["description"] = (
            "Upstream clients may send the person filter as a JSON body on this GET "
            '(`{"person_ids": [...]}`); it is still accepted but not described here, '
            "since a body on GET is not portable. Use the `person_ids` parameter."
        )
    return operation


def openapi_document(server_url=None):
    """The OpenAPI 3.1 document of the API, as a dict."""
    paths = {"/auth/token": TOKEN_ROUTE}
    for route_ in ROUTES:
        paths.setdefault(route_.path, {})[route_.method] = _operation(route_)
    document = {
        "openapi": "3.1.0",
        "info": {
            "title": "SPP Attendance API",
            "version": "1.0.0",
            "description": "Submit and query program attendance. Obtain a token "
            "at /auth/token with the client id and secret of an API client, then "
            "send it as `Authorization: Bearer <token>`. Read routes need the "
            "`read` scope, write routes the `write` scope. Errors use the envelope "
            '`{"error": {"code", "message", "details"}}`.',
        },
        "paths": paths,
        "components": {
            "securitySchemes": {
                "bearer": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"},
                "oauth2": {
                    "type": "oauth2",
                    "flows": {
                        "clientCredentials": {
                            "tokenUrl": "/auth/token",
                            "scopes": {
                                "read": "Read attendance, subscribers and "
                                "configuration.",
                                "write": "Submit, update and remove attendance.",
                            },
                        }
                    },
                },
            }
        },
    }
    if server_url:
        document["servers"] = [{"url": server_url}]
    return document
