"""Route declarations and the OpenAPI 3.1 document generated from them.

A :class:`Route` is declared next to its handler (the controllers); it names the
contract's models (:mod:`.schemas`) for the query string, the body and each response.
:func:`openapi_document` turns a list of routes into the document served at
``GET /api/openapi.json``: the models' JSON Schemas come from Pydantic, under
``components/schemas``.
"""

import re
from dataclasses import dataclass, field

from pydantic import BaseModel
from pydantic.json_schema import GenerateJsonSchema, models_json_schema

from . import schemas

REF_TEMPLATE = "#/components/schemas/{model}"


@dataclass(frozen=True)
class Route:
    """One API operation: ``method`` and ``path`` (OpenAPI syntax, ``{person_id}``),
    its ``operation`` id, the token ``scope`` it needs (``None``: public), its
    ``query`` and ``body`` models (a body may map media types to models), and
    ``responses``: ``{status: (description, model or None)}``."""

    method: str
    path: str
    operation: str
    summary: str
    scope: str | None
    tags: tuple
    responses: dict
    query: type[BaseModel] | None = None
    body: type[BaseModel] | dict | None = None
    description: str | None = None
    path_params: tuple = field(init=False)

    def __post_init__(self):
        object.__setattr__(
            self, "path_params", tuple(re.findall(r"{(\w+)}", self.path))
        )

    @property
    def bodies(self):
        if self.body is None:
            return {}
        if isinstance(self.body, dict):
            return self.body
        return {"application/json": self.body}

    def response_model(self, status):
        return self.responses[status][1]


def error_responses(*statuses, **descriptions):
    """Error responses with the envelope: ``{status: (description, Error)}``."""
    texts = {
        400: "Invalid request: the error names the field and why.",
        401: "Missing, malformed, expired or revoked bearer token.",
        403: "The token lacks the scope this route needs.",
        413: "Request body too large.",
    }
    texts.update({int(key[1:]): text for key, text in descriptions.items()})
    return {status: (texts[status], schemas.Error) for status in statuses}


class _Schemas(GenerateJsonSchema):
    """Pydantic's JSON Schema without a title on every property, nor a ``null``
    default (which would contradict the type of a field that is simply optional)."""

    def field_title_should_be_set(self, schema):
        return False

    def default_schema(self, schema):
        if schema.get("default", ...) is None:
            return self.generate_inner(schema["schema"])
        return super().default_schema(schema)


def _parameters(route):
    parameters = [
        {"name": name, "in": "path", "required": True, "schema": {"type": "string"}}
        for name in route.path_params
    ]
    if route.query is None:
        return parameters
    document = route.query.model_json_schema(schema_generator=_Schemas)
    for name, schema in document["properties"].items():
        schema = dict(schema)
        parameter = {"name": name, "in": "query"}
        parameter["required"] = name in document.get("required", ())
        description = schema.pop("description", None)
        if description:
            parameter["description"] = description
        parameter["schema"] = schema
        parameters.append(parameter)
    return parameters


def _operation(route, refs):
    operation = {
        "operationId": route.operation,
        "summary": route.summary,
        "tags": list(route.tags),
        "security": (
            [{"bearer": []}, {"oauth2": [route.scope]}] if route.scope else []
        ),
    }
    if route.description:
        operation["description"] = route.description
    parameters = _parameters(route)
    if parameters:
        operation["parameters"] = parameters
    if route.bodies:
        operation["requestBody"] = {
            "required": True,
            "content": {
                media: {"schema": refs[(model, "validation")]}
                for media, model in route.bodies.items()
            },
        }
    operation["responses"] = {
        str(status): {"description": text}
        | (
            {
                "content": {
                    "application/json": {"schema": refs[(model, "serialization")]}
                }
            }
            if model
            else {}
        )
        for status, (text, model) in route.responses.items()
    }
    if route.query is not None:
        # Refused by the HTTP server before the request reaches the API, as HTML.
        operation["responses"]["414"] = {
            "description": "The request line (path and query) is longer than 64 KiB, "
            "e.g. a very long `person_ids` of non-ASCII identifiers: send fewer."
        }
    return operation


def openapi_document(routes, server_url=None):
    """The OpenAPI 3.1 document of ``routes``, as a dict."""
    models = {
        (model, "validation") for route in routes for model in route.bodies.values()
    } | {
        (model, "serialization")
        for route in routes
        for _text, model in route.responses.values()
        if model
    }
    refs, definitions = models_json_schema(
        sorted(models, key=lambda item: (item[0].__name__, item[1])),
        ref_template=REF_TEMPLATE,
        schema_generator=_Schemas,
    )
    paths = {}
    for route in routes:
        paths.setdefault(route.path, {})[route.method] = _operation(route, refs)
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
            "schemas": definitions.get("$defs", {}),
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
            },
        },
    }
    if server_url:
        document["servers"] = [{"url": server_url}]
    return document
