"""The attendance REST API (upstream OpenSPP 17.0 routes, JSON keys and messages).

Controllers only parse, authenticate (the ``spp_bearer`` auth method), call one
service of ``spp_attendance.services`` and shape the response; the rules (duplicates,
idempotency, time zones, company isolation) live in the services and the models.
Request bodies and query strings are validated against the declarations in
``spp_attendance.api`` (the same ones the served OpenAPI document is built from).
The services raise typed errors; :data:`STATUS_BY_ERROR` maps each type to a status
(never the message). Cursors are encoded here: they are the HTTP representation of
the keyset positions the services return and accept.
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

from ..api import openapi, schemas
from ..api.validation import (
    ApiError,
    detail,
    normalize_category,
    parse_bool,
    parse_datetime,
    parse_json,
    parse_optional_id,
    parse_query,
)
from ..api.validation import validate as validate_schema
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


def api_route(operation):
    """The ``@http.route`` options of an API operation: bearer token with its scope.

    spp_oauth's ``spp_bearer`` auth method answers 401/403 before the controller runs.
    """
    return dict(
        ROUTE_OPTIONS,
        auth=AUTH_METHOD,
        spp_client_model=CLIENT_MODEL,
        spp_audience=AUDIENCE,
        spp_scope=openapi.route(operation).scope,
    )


def _json(payload, status=200, headers=None):
    return request.make_json_response(payload, status=status, headers=headers)


def api_endpoint(operation):
    """Wrap a handler: size limit, error envelope (the route declares ``api_route``).

    The handler receives the route declaration and returns ``(payload, status)``.
    """
    declaration = openapi.route(operation)

    def decorator(handler):
        def wrapper(self, *args, **kwargs):
            too_large = body_too_large(schemas.MAX_BODY_SIZE)
            if too_large is not None:
                return too_large
            try:
                payload, status = handler(self, declaration, *args, **kwargs)
            except ApiError as exc:
                request.env.cr.rollback()
                return _json(exc.to_dict(), exc.status, exc.headers)
            except ServiceError as exc:
                request.env.cr.rollback()
                status = error_status(exc)
                details = (
                    [detail(exc.field, exc.reason, exc.detail)] if exc.field else []
                )
                return _json(ApiError(status, exc.message, details).to_dict(), status)
            except AccessError as exc:
                request.env.cr.rollback()
                return _json(ApiError(403, str(exc)).to_dict(), 403)
            except (UserError, ValidationError) as exc:
                request.env.cr.rollback()
                return _json(ApiError(400, str(exc)).to_dict(), 400)
            return _json(payload, status)

        wrapper.__name__ = handler.__name__
        wrapper.__doc__ = handler.__doc__
        return wrapper

    return decorator


def _body(declaration, empty=None):
    data = parse_json(request.httprequest.get_data(), empty=empty)
    if declaration.body is not None:
        validate_schema(declaration.body, data)
    return data


def _query(declaration):
    return parse_query(request.httprequest.args, declaration.params)


def _client():
    return request.spp_oauth_client


def _api_env():
    """The API's technical user (not superuser) with the client's company as its only
    allowed company: access rights and record rules decide what exists for the
    client, so another company's record answers exactly as a missing one."""
    company = _client().company_id
    return request.env(
        context=dict(request.env.context, allowed_company_ids=company.ids)
    )


def _submission(body):
    """The submission fields of a POST/PUT body (a naive datetime is UTC)."""
    moment = parse_datetime(body["submitted_datetime"], "submitted_datetime")
    if moment.tzinfo is not None:
        moment = moment.astimezone(timezone.utc).replace(tzinfo=None)
    return {
        "submitted_by": str(body["submitted_by"]).strip(),
        "submitted_datetime": moment.replace(microsecond=0),
        "submission_source": (body.get("submission_source") or "").strip(),
    }


def _filters(query):
    """History filters from the query, in the model's terms."""
    if (
        query.get("from_date")
        and query.get("to_date")
        and query["from_date"] > query["to_date"]
    ):
        raise ApiError(
            400,
            "from_date must be less than or equal to to_date.",
            [detail("query/from_date", "range", "from_date is after to_date.")],
        )
    try:
        return HistoryService(_api_env()).filters(
            date_from=query.get("from_date"),
            date_to=query.get("to_date"),
            type_id=query.get("attendance_type") or None,
            location_id=query.get("attendance_location") or None,
            category=query.get("attendance_category"),
        )
    except ServiceError as exc:
        exc.field = f"query/{exc.field}"
        raise


def encode_cursor(values):
    raw = json.dumps(values, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor, keys):
    """The values of an opaque cursor, checked for the expected keys."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        values = json.loads(raw)
        if not isinstance(values, dict) or set(values) != set(keys):
            raise ValueError
        return values
    except (ValueError, TypeError, UnicodeDecodeError):
        raise ApiError(
            400,
            "cursor is invalid.",
            [detail("query/cursor", "format", "Pass back a next_cursor unchanged.")],
        )


def _valid_person_id(person_id):
    """A path or query ``person_id``, refused when it contains NUL characters."""
    if "\x00" in person_id:
        raise ApiError(
            400,
            "person_id must not contain NUL characters.",
            [detail("person_id", "format", "NUL characters are not allowed.")],
        )
    return person_id


def _find_subscriber(person_id):
    return SubscriberService(_api_env()).find(_valid_person_id(person_id))


def _query_person_id(declaration):
    """The ``person_id`` query parameter of the routes that address any identifier."""
    person_id = _query(declaration)["person_id"]
    if not person_id:
        raise ApiError(
            400,
            "person_id is required.",
            [detail("query/person_id", "required", "person_id is required.")],
        )
    return person_id


def _subscriber_page(query, fetch):
    """A page of subscribers by ``page`` or by ``cursor``/``last_id`` (ids ascending).

    ``fetch(offset=, limit=, after_id=)`` returns the service's ``Page`` (whose
    ``last`` is the last subscriber id).
    """
    page, limit = query["page"], query["limit"]
    after_id = query["last_id"]
    if query["cursor"]:
        after_id = decode_cursor(query["cursor"], ("s",))["s"]
        if not isinstance(after_id, int) or isinstance(after_id, bool):
            raise ApiError(
                400,
                "cursor is invalid.",
                [
                    detail(
                        "query/cursor", "format", "Pass back a next_cursor unchanged."
                    )
                ],
            )
    result = fetch(
        offset=0 if after_id is not None else (page - 1) * limit,
        limit=limit,
        after_id=after_id,
    )
    return {
        "records": result.records,
        "pagination": _pagination(page, limit, result.total),
        "next_cursor": encode_cursor({"s": result.last}) if result.has_more else None,
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


class AttendanceApi(http.Controller):
    # -- documents -------------------------------------------------------------------

    @http.route("/api/openapi.json", methods=["GET"], **ROUTE_OPTIONS)
    def openapi_json(self):
        """The OpenAPI 3.1 document of this API (public)."""
        base_url = request.httprequest.host_url.rstrip("/")
        return _json(openapi.openapi_document(base_url))

    # -- writes ----------------------------------------------------------------------

    @http.route("/attendances", methods=["POST"], **api_route("submitAttendances"))
    @api_endpoint("submitAttendances")
    def submit_attendances(self, declaration, **_kw):
        query = _query(declaration)
        body = _body(declaration)
        ignore_unique = parse_bool("ignore_unique", query["ignore_unique"])
        atomic = parse_bool("atomic", query["atomic"], default=True)
        cards = []
        for i, record in enumerate(body["records"]):
            person_id = str(record["person_id"]).strip()
            for j, card in enumerate(record["time_card"]):
                path = f"records/{i}/time_card/{j}"
                cards.append(
                    Card(
                        path=path,
                        person_id=person_id,
                        moment=parse_datetime(card["date_time"], f"{path}/date_time"),
                        type_id=parse_optional_id(card.get("attendance_type")),
                        location_id=parse_optional_id(card.get("attendance_location")),
                        category=normalize_category(card.get("attendance_category")),
                        description=card.get("attendance_description") or False,
                        url=(card.get("attendance_external_url") or "").strip(),
                        uuid=card.get("uuid") or None,
                    )
                )
        if len(cards) > schemas.MAX_BATCH:
            raise ApiError(
                400,
                f"At most {schemas.MAX_BATCH} time cards can be sent at once.",
                [detail("records", "too_long", "Split the request.")],
            )
        try:
            results = SubmitService(_api_env()).submit(
                cards,
                _submission(body),
                client=_client(),
                ignore_unique=ignore_unique,
                atomic=atomic,
            )
        except BatchRejected as exc:
            status = submit_status(exc.errors)
            error = ApiError(
                status,
                exc.message,
                [detail(e.field, e.reason, e.message) for e in exc.errors],
            ).to_dict()
            error["results"] = [_card_result(r, cards) for r in exc.results]
            return error, status
        rejected = any(r.status == "rejected" for r in results)
        person_ids = list(dict.fromkeys(card.person_id for card in cards))
        return {
            "message": "Attendance list created successfully.",
            "person_ids": person_ids,
            "results": [_card_result(r, cards) for r in results],
        }, (207 if rejected else 200)

    @http.route("/attendances", methods=["PUT"], **api_route("updateAttendances"))
    @api_endpoint("updateAttendances")
    def update_attendances(self, declaration, **_kw):
        body = _body(declaration)
        changes = []
        for i, record in enumerate(body["records"]):
            card = record["time_card"]
            path = f"records/{i}/time_card"
            change = Change(id=record["id"], path=path)
            if "date_time" in card:
                if card["date_time"] is None:
                    raise ApiError(
                        400,
                        f"{path}/date_time must not be null.",
                        [detail(f"{path}/date_time", "type", "date_time is required.")],
                    )
                change.values["moment"] = parse_datetime(
                    card["date_time"], f"{path}/date_time"
                )
            if "attendance_type" in card:
                change.values["type_id"] = parse_optional_id(card["attendance_type"])
            if "attendance_location" in card:
                change.values["location_id"] = parse_optional_id(
                    card["attendance_location"]
                )
            if "attendance_category" in card:
                change.values["category"] = normalize_category(
                    card["attendance_category"]
                )
            if "attendance_description" in card:
                change.values["description"] = card["attendance_description"] or False
            if "attendance_external_url" in card:
                change.values["url"] = (card["attendance_external_url"] or "").strip()
            changes.append(change)
        try:
            results = UpdateService(_api_env()).update(
                changes, _submission(body), client=_client()
            )
        except BatchRejected as exc:
            status = update_status(exc.errors)
            error = ApiError(
                status,
                exc.message,
                [
                    detail(f"records/{r.index}", r.reason, r.message)
                    for r in exc.results
                    if r.status == "rejected"
                ],
            ).to_dict()
            error["results"] = [r.to_dict() for r in exc.results]
            return error, status
        return {
            "message": "Attendance list updated successfully.",
            "results": [r.to_dict() for r in results],
        }, 200

    @http.route("/attendances", methods=["DELETE"], **api_route("deleteAttendances"))
    @api_endpoint("deleteAttendances")
    def delete_attendances(self, declaration, **_kw):
        # Upstream accepted (and ignored) a JSON body here; it must still be JSON.
        parse_json(request.httprequest.get_data())
        query = _query(declaration)
        raw_ids = [part.strip() for part in (query["ids"] or "").split(",")]
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

    @http.route(
        "/attendance/types", methods=["GET"], **api_route("listAttendanceTypes")
    )
    @api_endpoint("listAttendanceTypes")
    def attendance_types(self, declaration, **_kw):
        return {
            "records": ReferenceChecks(_api_env()).listing("spp.attendance.type")
        }, 200

    @http.route(
        "/attendance/locations", methods=["GET"], **api_route("listAttendanceLocations")
    )
    @api_endpoint("listAttendanceLocations")
    def attendance_locations(self, declaration, **_kw):
        return {
            "records": ReferenceChecks(_api_env()).listing("spp.attendance.location")
        }, 200

    @http.route(
        "/attendance/<path:person_id>",
        methods=["GET"],
        **api_route("getPersonAttendance"),
    )
    @api_endpoint("getPersonAttendance")
    def person_attendance(self, declaration, person_id, **_kw):
        return self._person_history(declaration, person_id)

    @http.route(
        "/attendance", methods=["GET"], **api_route("getPersonAttendanceByQuery")
    )
    @api_endpoint("getPersonAttendanceByQuery")
    def person_attendance_by_query(self, declaration, **_kw):
        person_id = _query_person_id(declaration)
        return self._person_history(declaration, person_id)

    def _person_history(self, declaration, person_id):
        query = _query(declaration)
        filters = _filters(query)
        subscriber = _find_subscriber(person_id)
        page, limit = query["page"], query["limit"]
        after = None
        if query["cursor"]:
            after = decode_cursor(query["cursor"], ("t", "i"))
        result = HistoryService(_api_env()).person(
            subscriber, filters, offset=(page - 1) * limit, limit=limit, after=after
        )
        payload = result.payload
        payload["pagination"] = _pagination(page, limit, result.total)
        last = result.last
        payload["next_cursor"] = (
            encode_cursor({"t": last[0], "i": last[1]}) if result.has_more else None
        )
        return payload, 200

    @http.route("/attendances", methods=["GET"], **api_route("listAttendances"))
    @api_endpoint("listAttendances")
    def list_attendances(self, declaration, **_kw):
        query = _query(declaration)
        filters = _filters(query)
        # Upstream clients send {"person_ids": [...]} as a body on this GET.
        body = parse_json(request.httprequest.get_data(), empty={})
        validate_schema(schemas.PERSON_IDS_BODY, body)
        person_ids = [str(pid) for pid in (body.get("person_ids") or [])]
        if query["person_ids"]:
            person_ids += [
                pid.strip() for pid in query["person_ids"].split(",") if pid.strip()
            ]
        return _subscriber_page(
            query,
            lambda **page: HistoryService(_api_env()).many(person_ids, filters, **page),
        )

    @http.route("/subscribers", methods=["GET"], **api_route("listSubscribers"))
    @api_endpoint("listSubscribers")
    def subscribers(self, declaration, **_kw):
        return _subscriber_page(
            _query(declaration),
            lambda **page: SubscriberService(_api_env()).page(**page),
        )

    @http.route(
        "/subscriber/<path:person_id>", methods=["GET"], **api_route("getSubscriber")
    )
    @api_endpoint("getSubscriber")
    def subscriber(self, declaration, person_id, **_kw):
        return SubscriberService(_api_env()).info(_valid_person_id(person_id)), 200

    @http.route("/subscriber", methods=["GET"], **api_route("getSubscriberByQuery"))
    @api_endpoint("getSubscriberByQuery")
    def subscriber_by_query(self, declaration, **_kw):
        person_id = _query_person_id(declaration)
        return SubscriberService(_api_env()).info(_valid_person_id(person_id)), 200
