"""Server side of the check-in desk (the ``spp_attendance.desk`` client action).

Every method is called by the OWL client through ``orm.call`` and answers plain
JSON. They run as the staff user (no sudo): access rights and the multi-company
record rules apply, and check-ins go through the API's own idempotent path
(:class:`..services.SubmitService`).

A *session* is ``{"type_id", "location_id", "date", "company_id"}``: the client
keeps it and passes it back with every call.
"""

from datetime import datetime

import pytz

from odoo import _, api, fields, models
from odoo.exceptions import AccessError, ValidationError
from odoo.tools import SQL

from ..services import ArchiveService, SubmitService
from ..services.exceptions import BatchRejected

OFFICER_GROUP = "spp_attendance.group_attendance_officer"
SOURCE = "Check-in desk"
#: suggestions shown while typing a name
SUGGESTIONS = 8
#: check-ins listed under the input
LAST = 10
#: fields of a record that the desk shows
DESCRIBED = [
    "subscriber_id",
    "attendance_category",
    "attendance_time",
    "attendance_date",
    "submitted_by",
    "submission_source",
]
#: cards accepted in one call (the client sends its offline queue in batches)
MAX_BATCH = 100


class AttendanceDesk(models.AbstractModel):
    _name = "spp.attendance.desk"
    _description = "Attendance Check-in Desk"

    # -- session -----------------------------------------------------------------

    @api.model
    def _check_officer(self):
        if not self.env.user.has_group(OFFICER_GROUP):
            raise AccessError(
                _("Only Attendance Officers and Managers may use the check-in desk.")
            )

    @api.model
    def _local_today(self, location, company):
        tz_name = self.env["spp.attendance.list"]._resolve_tz(location, company)
        return datetime.now(pytz.timezone(tz_name)).date()

    @api.model
    def get_setup(self):
        """What the session picker offers: types, locations (each with today's
        date in its time zone) and the companies the user works in."""
        self._check_officer()
        company = self.env.company
        return {
            "types": [
                {"id": t.id, "name": t.name}
                for t in self.env["spp.attendance.type"].search([])
            ],
            "locations": [
                {
                    "id": loc.id,
                    "name": loc.name,
                    "today": fields.Date.to_string(self._local_today(loc, company)),
                }
                for loc in self.env["spp.attendance.location"].search([])
            ],
            "company": {"id": company.id, "name": company.name},
        }

    @api.model
    def open_session(self, type_id, location_id, date=None):
        """Check the session's choices; the date defaults to today where the
        session takes place. Returns the session with its state."""
        self._check_officer()
        company = self.env.company
        attendance_type = self.env["spp.attendance.type"].browse(type_id).exists()
        if not attendance_type:
            raise ValidationError(_("Type: choose the attendance type of the session."))
        location = self.env["spp.attendance.location"].browse(location_id).exists()
        if not location:
            raise ValidationError(_("Location: choose where the session takes place."))
        day = self._check_day(date, location, company)
        session = {
            "type_id": attendance_type.id,
            "type_name": attendance_type.name,
            "location_id": location.id,
            "location_name": location.name,
            "date": fields.Date.to_string(day),
            "company_id": company.id,
        }
        return dict(session, **self._state(session))

    @api.model
    def _check_day(self, date, location, company):
        """The session's day (default today at the location); never in the future
        there."""
        today = self._local_today(location, company)
        day = fields.Date.to_date(date) if date else today
        if day > today:
            raise ValidationError(
                _(
                    "Date: %(date)s is in the future at %(location)s.",
                    date=day,
                    location=location.name,
                )
            )
        return day

    @api.model
    def _session_env(self, session):
        """The environment of the session: its company only (refused when the
        user may not work in it)."""
        company_id = session.get("company_id")
        if company_id not in self.env.user.company_ids.ids:
            raise AccessError(_("Company: you do not work in this session's company."))
        return self.env(
            context=dict(self.env.context, allowed_company_ids=[company_id])
        )

    @api.model
    def _session_domain(self, session):
        return [
            ("attendance_type_id", "=", session["type_id"]),
            ("attendance_location_id", "=", session["location_id"]),
            ("attendance_date", "=", session["date"]),
            ("company_id", "=", session["company_id"]),
        ]

    @api.model
    def get_state(self, session):
        """Counters and last check-ins of the session."""
        self._check_officer()
        return self._state(session)

    @api.model
    def _state(self, session):
        env = self._session_env(session)
        Attendance = env["spp.attendance.list"]
        domain = self._session_domain(session)
        # One query served by the date index: counts and ids together. (A search
        # ordered by id with a limit lets PostgreSQL walk the primary key
        # backwards, 250 ms on 300,000 records for a quiet session.)
        groups = Attendance._read_group(
            domain, ["attendance_category"], ["__count", "id:array_agg"]
        )
        counts = {category: count for category, count, _ids in groups}
        ids = sorted((i for _c, _n, ids in groups for i in ids), reverse=True)
        last = Attendance.browse(ids[:LAST])
        self._fetch_descriptions(last)
        return {
            "present": counts.get("present", 0),
            "absent": counts.get("absent", 0),
            "last": [self._describe(record) for record in last],
        }

    @api.model
    def _fetch_descriptions(self, records):
        """Read only what :meth:`_describe` shows (not every field of the records,
        their subscribers and contacts)."""
        records.fetch(DESCRIBED)
        records.subscriber_id.fetch(["person_identifier", "name"])

    @api.model
    def _describe(self, record):
        return {
            "id": record.id,
            "identifier": record.subscriber_id.person_identifier,
            "name": record.subscriber_id.name,
            "category": record.attendance_category,
            "time": record.attendance_time,
            "date": fields.Date.to_string(record.attendance_date),
            "by": record.submitted_by,
            "source": record.submission_source or "",
        }

    # -- people ----------------------------------------------------------------------

    @api.model
    def search_people(self, session, text, limit=SUGGESTIONS):
        """Suggestions for what is typed: the exact identifier first, then names
        (and identifiers) containing the text (the subscribers' indexed name
        search)."""
        self._check_officer()
        text = (text or "").strip()
        if not text:
            return []
        Subscriber = self._session_env(session)["spp.attendance.subscriber"]
        exact = Subscriber.search([("person_identifier", "=", text)], limit=1)
        found = Subscriber.browse(Subscriber._name_search(text, limit=limit))
        people = (exact | found)[:limit]
        people.fetch(["person_identifier", "name"])
        return [[person.person_identifier, person.name] for person in people]

    @api.model
    def get_roster(self, session):
        """``[[identifier, name], ...]`` of the session company's active
        subscribers, for lookups while offline. One query: the ORM builds the
        filtered, rule-restricted subquery, only two columns are read."""
        self._check_officer()
        Subscriber = self._session_env(session)["spp.attendance.subscriber"]
        query = Subscriber._search([("company_id", "=", session["company_id"])])
        self.env.cr.execute(
            SQL(
                "SELECT s.person_identifier, p.name FROM spp_attendance_subscriber s "
                "JOIN res_partner p ON p.id = s.partner_id WHERE s.id IN %s "
                "ORDER BY s.person_identifier",
                query.subselect(),
            )
        )
        return [list(row) for row in self.env.cr.fetchall()]

    # -- check-ins ---------------------------------------------------------------------

    @api.model
    def check_in(self, session, cards):
        """Record a batch of check-ins; one answer per card, in order.

        :param cards: dicts ``{"uuid", "person_id", "category" ("present" or
            "absent"), "scanned_at" (ISO 8601 UTC moment of the scan)}``. A card
            sent again with its uuid (a batch re-sent after a lost answer) is
            recognised, never stored twice.
        :return: ``{"answers": [...], "state": {...}}``; an answer's ``status``
            is ``recorded``, ``duplicate`` (already recorded under the
            uniqueness rule: ``existing`` says when and by whom), ``unknown``
            (no such identifier in the session's company) or ``refused``.
        """
        self._check_officer()
        if len(cards) > MAX_BATCH:
            raise ValidationError(
                _("Cards: at most %(max)s check-ins per call.", max=MAX_BATCH)
            )
        env = self._session_env(session)
        location = env["spp.attendance.location"].browse(session["location_id"])
        company = env["res.company"].browse(session["company_id"])
        tz = pytz.timezone(env["spp.attendance.list"]._resolve_tz(location, company))
        # the session comes back from the client: check its day again
        day = self._check_day(session["date"], location, company)
        service_cards = [
            {
                "person_id": (card.get("person_id") or "").strip(),
                "moment": self._moment(card.get("scanned_at"), day, tz),
                "type_id": session["type_id"],
                "location_id": session["location_id"],
                "category": "absent" if card.get("category") == "absent" else "present",
                "uuid": card.get("uuid") or None,
                "path": "cards/%s" % index,
            }
            for index, card in enumerate(cards)
        ]
        submission = {
            "submitted_by": self.env.user.name,
            "submitted_datetime": fields.Datetime.now(),
            "submission_source": SOURCE,
        }
        try:
            # not atomic: one check-in refused must not hold back the others
            results = SubmitService(env).submit(
                service_cards, submission, ignore_unique=True, atomic=False
            )
        except BatchRejected as exc:  # only raised for atomic batches; kept safe
            results = exc.results
        records = env["spp.attendance.list"].browse(
            [result.id for result in results if result.id]
        )
        records = records.exists()
        self._fetch_descriptions(records)
        by_id = {record.id: record for record in records}
        answers = []
        for card, result in zip(service_cards, results, strict=True):
            answer = {
                "uuid": card["uuid"],
                "identifier": card["person_id"],
                "category": card["category"],
            }
            record = by_id.get(result.id)
            if record:
                answer["name"] = record.subscriber_id.name
            if result.status in ("created", "unchanged"):
                answer.update(status="recorded", record=self._describe(record))
            elif result.status == "duplicate":
                answer.update(
                    status="duplicate",
                    existing=self._describe(record) if record else None,
                )
            elif result.reason == "unknown_person":
                answer.update(status="unknown", message=result.message)
            else:
                answer.update(status="refused", message=result.message)
            answers.append(answer)
        return {"answers": answers, "state": self._state(session)}

    @api.model
    def _moment(self, scanned_at, day, tz):
        """The moment of a check-in: when it was scanned; for a session on an
        earlier day (entered afterwards), that day at the scan's time of day."""
        moment = datetime.now(pytz.utc)
        if scanned_at:
            try:
                moment = datetime.fromisoformat(scanned_at)
            except (TypeError, ValueError) as exc:
                raise ValidationError(
                    _(
                        "Scanned at: '%(value)s' is not an ISO 8601 moment.",
                        value=scanned_at,
                    )
                ) from exc
            if moment.tzinfo is None:
                moment = pytz.utc.localize(moment)
        local = moment.astimezone(tz)
        if local.date() != day:
            return datetime.combine(day, local.time().replace(microsecond=0))
        return moment

    @api.model
    def undo(self, session, record_id):
        """Archive a check-in of the session, with an audit note on it."""
        self._check_officer()
        env = self._session_env(session)
        record = env["spp.attendance.list"].search(
            [("id", "=", record_id), *self._session_domain(session)]
        )
        if not record:
            raise ValidationError(
                _("Check-in: record %(id)s is not part of this session.", id=record_id)
            )
        ArchiveService(env).archive(record.ids)
        env["spp.attendance.list"]._api_log(
            record,
            _(
                "Check-in undone (archived) at the check-in desk by %(user)s.",
                user=self.env.user.name,
            ),
        )
        return self._state(session)
