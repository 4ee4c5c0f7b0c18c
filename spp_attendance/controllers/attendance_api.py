"""The attendance REST API (upstream OpenSPP 17.0 routes, JSON keys and messages).

Each handler carries its route declaration (:func:`api_route`): method, path,
operation id, scope, and the contract's models (``spp_attendance.api.schemas``) for
its query string, body and responses. The declaration validates the request, shapes
the response, and is what the served OpenAPI document (``/api/openapi.json``) is
generated from. Handlers only convert the validated request into a service's typed
inputs (``services/results.py``), call one service and return its result; the rules
(duplicates, idempotency, time zones, company isolation) live in the services and
the models. The services raise typed errors; :data:`STATUS_BY_ERROR` maps each type
to a status (never the message). Cursors are encoded here: they are the HTTP
representation of the keyset positions the services return and accept.
"""

import base64
import json
import logging
import math
from datetime import timezone

from odoo import http
from odoo.exceptions import AccessError, UserError, ValidationError
from odoo.http import request

from odoo.addons.spp_oauth.http import AUTH_METHOD, body_too_large

from ..api import schemas
from ..api.openapi import Route, error_responses, openapi_document
from ..api.types import MAX_ID
from ..api.validation import (
    ApiError,
    detail,
    dump_json,
    parse_json,
    validate_body,
    validate_query,
)
from ..services import (
    ArchiveService,
    HistoryService,
    SubmitService,
    SubscriberService,
    UpdateService,
)
from ..services.common import ReferenceChecks
from ..services.exceptions import (
    BatchRejected,
    DuplicateRecord,
    Invalid,
    NotFound,
    ServiceError,
    UuidConflict,
)
from ..services.results import Card, Change
from .auth import TOKEN_ROUTE

_logger = logging.getLogger(__name__)

CLIENT_MODEL = "spp.attendance.api.client.credential"
AUDIENCE = "spp_attendance"
#: Status of a service error, by type (first match; subclasses before bases).
STATUS_BY_ERROR = (
    (NotFound, 404),
    (UuidConflict, 409),
    (Invalid, 400),
    (ServiceError, 400),
)


def error_status(exc):
    return next(status for cls, status in STATUS_BY_ERROR if isinstance(exc, cls))


def submit_status(errors):
    """An atomic POST refused: 409 when only uuids conflict, else 400 (an unknown
    person in a body is a bad request, a duplicate too: upstream's contract)."""
    return 409 if all(isinstance(e, UuidConflict) for e in errors) else 400


def update_status(errors):
    """A PUT refused: 409 for a duplicate, 404 when only ids are unknown, else 400."""
    if any(isinstance(e, DuplicateRecord) for e in errors):
        return 409
    return 404 if all(isinstance(e, NotFound) for e in errors) else 400


ROUTE_OPTIONS = {
    "type": "http",
    "auth": "none",
    "csrf": False,
    "save_session": False,
    # Checked before authentication and before Odoo reads the body (see spp_oauth's
    # ir.http _authenticate).
    "spp_max_body_size": schemas.MAX_BODY_SIZE,
}
#: Every API route's declaration, in the order declared (the document's order).
ROUTES = []


def api_route(method, path, operation, *, scope, summary, tags, responses, **contract):
    """Declare an API operation on its handler and serve it.

    The declaration (:class:`~spp_attendance.api.openapi.Route`) takes the
    contract's ``query`` and ``body`` models and the ``responses`` models. The
    handler receives the validated ``query`` and ``body`` (when declared) and the
    path parameters, and returns ``(payload, status)``; the payload is serialised
    through that status's model. spp_oauth's ``spp_bearer`` auth method answers
    401/403 (token, scope) and 413 before the handler runs; any error is answered
    with the envelope.
    """
    route = Route(method, path, operation, summary, scope, tags, responses, **contract)
    ROUTES.append(route)
    # Path parameters may hold "/" (person identifiers do).
    odoo_path = path.replace("{", "<path:").replace("}", ">")

    def decorator(handler):
        # Takes any parameter (Odoo passes the query string's too): not
        # functools.wraps, whose __wrapped__ would make Odoo filter them by the
        # handler's signature and log each one it drops.
        def endpoint(self, **params):
            too_large = body_too_large(schemas.MAX_BODY_SIZE)
            if too_large is not None:
                return too_large
            try:
                inputs = {name: params[name] for name in route.path_params}
                if route.query is not None:
                    inputs["query"] = validate_query(
                        route.query, request.httprequest.args
                    )
                if route.body is not None:
                    inputs["body"] = validate_body(
                        route.body, parse_json(request.httprequest.get_data())
                    )
                payload, status = handler(self, **inputs)
                return _json_text(
                    dump_json(route.response_model(status), payload), status
                )
            except ApiError as exc:
                return _error(exc.status, exc.to_dict(), exc.headers)
            except ServiceError as exc:
                status = error_status(exc)
                details = (
                    [detail(exc.field, exc.reason, exc.detail)] if exc.field else []
                )
                return _error(status, ApiError(status, exc.message, details).to_dict())
            except AccessError as exc:
                return _error(403, ApiError(403, str(exc)).to_dict())
            except (UserError, ValidationError) as exc:
                return _error(400, ApiError(400, str(exc)).to_dict())

        endpoint.__name__, endpoint.__doc__ = handler.__name__, handler.__doc__
        return http.route(
            odoo_path,
            methods=[method.upper()],
            **dict(
                ROUTE_OPTIONS,
                auth=AUTH_METHOD,
                spp_client_model=CLIENT_MODEL,
                spp_audience=AUDIENCE,
                spp_scope=scope,
            ),
        )(endpoint)

    return decorator


def api_document(server_url=None):
    """The OpenAPI document of the token route and every API route."""
    return openapi_document([TOKEN_ROUTE, *ROUTES], server_url)


def _json(payload, status=200, headers=None):
    return request.make_json_response(payload, status=status, headers=headers)


def _json_text(body, status=200):
    """A response of JSON text already serialised (see ``dump_json``)."""
    return request.make_response(
        body, [("Content-Type", "application/json; charset=utf-8")], status=status
    )


def _error(status, payload, headers=None):
    request.env.cr.rollback()
    return _json(payload, status, headers)


def _batch_error(status, exc, details, results):
    """An atomic batch refused: the envelope, with every item's result."""
    error = {"code": status, "message": exc.message}
    if details:
        error["details"] = details
    return {"error": error, "results": results}, status


COMMON_ERRORS = error_responses(400, 401, 403)
AUTH_ERRORS = error_responses(401, 403)
PERSON_HISTORY_RESPONSES = {
    200: ("The person's attendance, paginated.", schemas.PersonHistory),
    **COMMON_ERRORS,
    **error_responses(404, _404="Unknown person."),
}
SUBSCRIBER_RESPONSES = {
    200: ("The subscriber.", schemas.Subscriber),
    **COMMON_ERRORS,
    **error_responses(404, _404="Unknown person."),
}


def _client():
    return request.spp_oauth_client


def _api_env():
    """The API's technical user (not superuser) with the client's company as its only
    allowed company: access rights and record rules decide what exists for the
    client, so another company's record answers exactly as a missing one."""
    company = _client().company_id
    env = request.env(
        context=dict(request.env.context, allowed_company_ids=company.ids)
    )
    env.companies._spp_cache_parent_path()
    return env


def _submission(body):
    """The submission fields of a POST/PUT body (a naive datetime is UTC)."""
    moment = body.submitted_datetime
    if moment.tzinfo is not None:
        moment = moment.astimezone(timezone.utc).replace(tzinfo=None)
    return {
        "submitted_by": body.submitted_by,
        "submitted_datetime": moment.replace(microsecond=0),
        "submission_source": (body.submission_source or "").strip(),
    }


def _filters(query):
    """History filters from the query, in the model's terms."""
    try:
        return HistoryService(_api_env()).filters(
            date_from=query.from_date,
            date_to=query.to_date,
            type_id=query.attendance_type or None,
            location_id=query.attendance_location or None,
            category=query.attendance_category,
        )
    except ServiceError as exc:
        exc.field = f"query/{exc.field}"
        raise


def encode_cursor(values):
    raw = json.dumps(values, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor, keys, optional=()):
    """The values of an opaque cursor, checked for the expected keys."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        values = json.loads(raw)
        if not isinstance(values, dict) or not (
            set(keys) <= set(values) <= set(keys) | set(optional)
        ):
            raise ValueError
        return values
    except (ValueError, TypeError, UnicodeDecodeError):
        raise _invalid_cursor() from None


def _invalid_cursor():
    return ApiError(
        400,
        "cursor is invalid.",
        [detail("query/cursor", "format", "Pass back a next_cursor unchanged.")],
    )


def _valid_person_id(person_id):
    """A path ``person_id``, refused when it contains NUL characters."""
    if "\x00" in person_id:
        raise ApiError(
            400,
            "person_id must not contain NUL characters.",
            [detail("person_id", "format", "NUL characters are not allowed.")],
        )
    return person_id


def _is_count(value, maximum=MAX_ID):
    return (
        isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= maximum
    )


def _subscriber_page(query, fetch):
    """A page of subscribers by ``page`` or by ``cursor``/``last_id`` (ids ascending).

    ``fetch(offset=, limit=, after_id=, total=)`` returns the service's ``Page``
    (whose ``last`` is the last subscriber id); it counts the subscribers only
    when ``total`` is ``None``. A cursor carries the count made on the walk's first
    page, so that walking a large list never counts it again.
    """
    page, limit = query.page, query.limit
    after_id, total = query.last_id, None
    if query.cursor:
        values = decode_cursor(query.cursor, ("s",), optional=("t",))
        after_id, total = values["s"], values.get("t")
        if not _is_count(after_id) or not (total is None or _is_count(total)):
            raise _invalid_cursor()
    result = fetch(
        offset=0 if after_id is not None else (page - 1) * limit,
        limit=limit,
        after_id=after_id,
        total=total,
    )
    cursor = {"s": result.last, "t": result.total}
    return {
        "records": result.records,
        "pagination": _pagination(page, limit, result.total),
        "next_cursor": encode_cursor(cursor) if result.has_more else None,
    }, 200


def _card_result(result, cards):
    """A card's result as JSON, with the card's place in the request."""
    result.path = cards[result.index].path
    return result.to_dict()


def _pagination(page, limit, total):
    return {
        "page": page,
        "limit": limit,
        "total_records": total,
        "total_pages": math.ceil(total / limit) if total else 0,
    }


#: Fields of a time card -> keys of ``Change.values`` (the service's names).
CHANGE_KEYS = {
    "date_time": "moment",
    "attendance_type": "type_id",
    "attendance_location": "location_id",
    "attendance_category": "category",
    "attendance_description": "description",
    "attendance_external_url": "url",
}


def _change(index, record):
    """A PUT record as the service's :class:`Change` (only the fields sent)."""
    card = record.time_card
    change = Change(id=record.id, path=f"records/{index}/time_card")
    for name in card.model_fields_set:
        value = getattr(card, name)
        change.values[CHANGE_KEYS[name]] = (
            value or False if name == "attendance_description" else value
        )
    return change


class AttendanceApi(http.Controller):
    # -- documents -------------------------------------------------------------------

    @http.route("/api/openapi.json", methods=["GET"], **ROUTE_OPTIONS)
    def openapi_json(self):
        """The OpenAPI 3.1 document of this API (public)."""
        return _json(api_document(request.httprequest.host_url.rstrip("/")))

    # -- writes ----------------------------------------------------------------------

    @api_route(
        "post",
        "/attendances",
        "submitAttendances",
        summary="Submit attendance time cards for one or more persons",
        scope="write",
        tags=("attendance",),
        query=schemas.SubmitQuery,
        body=schemas.SubmitBody,
        responses={
            200: (
                "Every card was stored, unchanged or skipped.",
                schemas.SubmitResponse,
            ),
            207: (
                "atomic=false and some cards were rejected; see `results`.",
                schemas.SubmitResponse,
            ),
            400: (COMMON_ERRORS[400][0], schemas.SubmitError),
            **AUTH_ERRORS,
            409: (
                "A card's uuid was already used for different content.",
                schemas.SubmitError,
            ),
            **error_responses(413),
        },
    )
    def submit_attendances(self, query, body):
        cards = [
            Card(
                path=f"records/{i}/time_card/{j}",
                person_id=record.person_id,
                moment=card.date_time,
                type_id=card.attendance_type,
                location_id=card.attendance_location,
                category=card.attendance_category or "present",
                description=card.attendance_description or False,
                url=card.attendance_external_url or "",
                uuid=card.uuid or None,
            )
            for i, record in enumerate(body.records)
            for j, card in enumerate(record.time_card)
        ]
        try:
            results = SubmitService(_api_env()).submit(
                cards,
                _submission(body),
                client=_client(),
                ignore_unique=query.ignore_unique,
                atomic=query.atomic,
            )
        except BatchRejected as exc:
            return _batch_error(
                submit_status(exc.errors),
                exc,
                [detail(e.field, e.reason, e.message) for e in exc.errors],
                [_card_result(r, cards) for r in exc.results],
            )
        rejected = any(r.status == "rejected" for r in results)
        return {
            "message": "Attendance list created successfully.",
            "person_ids": list(dict.fromkeys(card.person_id for card in cards)),
            "results": [_card_result(r, cards) for r in results],
        }, (207 if rejected else 200)

    @api_route(
        "put",
        "/attendances",
        "updateAttendances",
        summary="Update attendance records (atomic: all or nothing)",
        scope="write",
        tags=("attendance",),
        body=schemas.UpdateBody,
        responses={
            200: ("Every record was updated.", schemas.UpdateResponse),
            400: (COMMON_ERRORS[400][0], schemas.UpdateError),
            **AUTH_ERRORS,
            404: ("An attendance id does not exist.", schemas.UpdateError),
            409: ("The change would create a duplicate.", schemas.UpdateError),
            **error_responses(413),
        },
    )
    def update_attendances(self, body):
        changes = [_change(i, record) for i, record in enumerate(body.records)]
        try:
            results = UpdateService(_api_env()).update(
                changes, _submission(body), client=_client()
            )
        except BatchRejected as exc:
            return _batch_error(
                update_status(exc.errors),
                exc,
                [
                    detail(f"records/{r.index}", r.reason, r.message)
                    for r in exc.results
                    if r.status == "rejected"
                ],
                [r.to_dict() for r in exc.results],
            )
        return {
            "message": "Attendance list updated successfully.",
            "results": [r.to_dict() for r in results],
        }, 200

    @api_route(
        "delete",
        "/attendances",
        "deleteAttendances",
        summary="Remove attendance records (archived: recoverable and audited)",
        scope="write",
        tags=("attendance",),
        query=schemas.DeleteQuery,
        responses={
            200: ("The existing records were removed.", schemas.DeleteResponse),
            **COMMON_ERRORS,
            **error_responses(404, _404="None of the ids exists."),
        },
    )
    def delete_attendances(self, query):
        # Upstream accepted (and ignored) a JSON body here; it must still be JSON.
        parse_json(request.httprequest.get_data())
        raw_ids = [part.strip() for part in (query.ids or "").split(",")]
        raw_ids = [part for part in raw_ids if part]
        if not raw_ids or not all(
            part.isdigit() and len(part) < 11 for part in raw_ids
        ):
            raise ApiError(
                400,
                "ids must be a list of integers.",
                [detail("query/ids", "type", "ids must be like 1,2,3.")],
            )
        if len(raw_ids) > schemas.MAX_BATCH:
            raise ApiError(
                400,
                f"At most {schemas.MAX_BATCH} ids can be removed at once.",
                [detail("query/ids", "too_long", "Too many ids.")],
            )
        ids = list(dict.fromkeys(int(part) for part in raw_ids))
        result = ArchiveService(_api_env()).archive(ids, client=_client())
        archived, missing = result.archived_ids, result.missing_ids
        if not archived:
            raise ApiError(
                404,
                "Attendance list does not exist.",
                [detail("query/ids", "not_found", f"Unknown ids: {missing[:20]}")],
            )
        return {
            "message": "Attendance list deleted successfully.",
            "deleted_ids": archived,
            "missing_ids": missing,
        }, 200

    # -- reads -----------------------------------------------------------------------

    @api_route(
        "get",
        "/attendances",
        "listAttendances",
        summary="Attendance of many persons, paginated over persons",
        scope="read",
        tags=("attendance",),
        query=schemas.AttendancesQuery,
        responses={
            200: ("One object per person.", schemas.PersonsAttendance),
            **COMMON_ERRORS,
        },
        description="Upstream clients may send the person filter as a JSON body on "
        'this GET (`{"person_ids": [...]}`); it is still accepted but not described '
        "here, since a body on GET is not portable. Use the `person_ids` parameter.",
    )
    def list_attendances(self, query):
        filters = _filters(query)
        # Upstream clients send {"person_ids": [...]} as a body on this GET: read
        # with its model, not documented as this route's body (see description).
        body = validate_body(
            schemas.PersonIdsBody,
            parse_json(request.httprequest.get_data(), empty={}),
        )
        person_ids = list(body.person_ids or [])
        if query.person_ids:
            person_ids += [
                pid.strip() for pid in query.person_ids.split(",") if pid.strip()
            ]
        return _subscriber_page(
            query,
            lambda **page: HistoryService(_api_env()).many(person_ids, filters, **page),
        )

    @api_route(
        "get",
        "/attendance/types",
        "listAttendanceTypes",
        summary="Attendance types",
        scope="read",
        tags=("configuration",),
        responses={200: ("All active types.", schemas.NamedRecords), **AUTH_ERRORS},
    )
    def attendance_types(self):
        return {
            "records": ReferenceChecks(_api_env()).listing("spp.attendance.type")
        }, 200

    @api_route(
        "get",
        "/attendance/locations",
        "listAttendanceLocations",
        summary="Attendance locations",
        scope="read",
        tags=("configuration",),
        responses={200: ("All active locations.", schemas.NamedRecords), **AUTH_ERRORS},
    )
    def attendance_locations(self):
        return {
            "records": ReferenceChecks(_api_env()).listing("spp.attendance.location")
        }, 200

    @api_route(
        "get",
        "/attendance",
        "getPersonAttendanceByQuery",
        summary="One person's attendance; addresses every identifier (e.g. `types`, "
        "`a/b`)",
        scope="read",
        tags=("attendance",),
        query=schemas.PersonHistoryQuery,
        responses=PERSON_HISTORY_RESPONSES,
    )
    def person_attendance_by_query(self, query):
        return self._person_history(query.person_id, query)

    @api_route(
        "get",
        "/attendance/{person_id}",
        "getPersonAttendance",
        summary="One person's attendance, paginated",
        scope="read",
        tags=("attendance",),
        query=schemas.HistoryQuery,
        responses=PERSON_HISTORY_RESPONSES,
    )
    def person_attendance(self, person_id, query):
        return self._person_history(_valid_person_id(person_id), query)

    def _person_history(self, person_id, query):
        filters = _filters(query)
        page, limit = query.page, query.limit
        try:
            after = decode_cursor(query.cursor, ("t", "i")) if query.cursor else None
            result = HistoryService(_api_env()).person(
                person_id, filters, offset=(page - 1) * limit, limit=limit, after=after
            )
        except (ApiError, Invalid, UserError):
            # The person is checked before the dates and the cursor (as upstream
            # does): an unknown person answers 404 whatever they are.
            SubscriberService(_api_env()).find(person_id)
            raise
        payload = result.payload
        payload["pagination"] = _pagination(page, limit, result.total)
        last = result.last
        payload["next_cursor"] = (
            encode_cursor({"t": last[0], "i": last[1]}) if result.has_more else None
        )
        return payload, 200

    @api_route(
        "get",
        "/subscribers",
        "listSubscribers",
        summary="Subscribers, paginated",
        scope="read",
        tags=("subscribers",),
        query=schemas.SubscribersQuery,
        responses={
            200: ("A page of subscribers.", schemas.Subscribers),
            **COMMON_ERRORS,
        },
    )
    def subscribers(self, query):
        return _subscriber_page(
            query, lambda **page: SubscriberService(_api_env()).page(**page)
        )

    @api_route(
        "get",
        "/subscriber",
        "getSubscriberByQuery",
        summary="One subscriber; addresses every identifier",
        scope="read",
        tags=("subscribers",),
        query=schemas.PersonIdQuery,
        responses=SUBSCRIBER_RESPONSES,
    )
    def subscriber_by_query(self, query):
        return SubscriberService(_api_env()).info(query.person_id), 200

    @api_route(
        "get",
        "/subscriber/{person_id}",
        "getSubscriber",
        summary="One subscriber",
        scope="read",
        tags=("subscribers",),
        responses=SUBSCRIBER_RESPONSES,
    )
    def subscriber(self, person_id):
        return SubscriberService(_api_env()).info(_valid_person_id(person_id)), 200
