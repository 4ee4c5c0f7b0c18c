import re
import uuid as uuid_lib
from collections import defaultdict
from urllib.parse import urlparse

from markupsafe import Markup

from odoo import _, api, fields, models
from odoo.exceptions import ValidationError

from ..demo_data import create_demo_records

# The attendance record is split by concern (Odoo merges the classes of one model):
#   attendance_list.py                     fields, constraints, CRUD, audit
#   attendance_list_local_time.py          time zones, local date and time
#   attendance_list_uniqueness.py          duplicate keys, their checks and messages
#   attendance_list_uniqueness_settings.py recomputing the keys when settings change
#   attendance_list_history.py             history filters (domains)
#   attendance_list_audit.py               the API's audit notes
# The API's batch work is in ..services, the demo records in ..demo_data.

#: Uniqueness criteria, in canonical order: name -> (config parameter, key code).
UNIQUENESS_PARAMS = {
    "date": ("spp_attendance.date_unique", "D"),
    "time": ("spp_attendance.time_unique", "T"),
    "type": ("spp_attendance.type_unique", "Y"),
    "location": ("spp_attendance.location_unique", "L"),
}
UNIQUENESS_KEYS = frozenset(param for param, _code in UNIQUENESS_PARAMS.values())
TRUE_VALUES = ("1", "true", "t", "yes", "y", "on")
#: Rewritten by every uniqueness change; writers lock it (FOR SHARE) with the
#: flags, so a writer whose snapshot predates a committed change fails with a
#: serialization error (retried by Odoo's RPC layer) instead of computing keys
#: from outdated settings.
UNIQUENESS_SENTINEL = "spp_attendance.uniqueness_version"
#: Fields whose change can change the duplicate key.
KEY_FIELDS = frozenset(
    {
        "subscriber_id",
        "attendance_date",
        "attendance_time",
        "attendance_datetime",
        "attendance_type_id",
        "attendance_location_id",
        "active",
    }
)
DUPLICATE_KEY_INDEX = "spp_attendance_list_duplicate_key_uniq"
UUID_CONSTRAINT = "spp_attendance_list_uuid_uniq"
#: A UUID in the form ``str(uuid.UUID(...))`` writes (lower case, hyphens).
CANONICAL_UUID = re.compile(
    r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"
)


def _is_true(value):
    return str(value or "").strip().lower() in TRUE_VALUES


class AttendanceList(models.Model):
    """One attendance record: a subscriber was present (or absent) at a moment.

    Time model
        ``attendance_datetime`` is the moment, in UTC (like every Odoo
        ``Datetime``). ``attendance_tz`` is the timezone that applies: the
        location's, else the company's, else the user's, else UTC; it is fixed
        when the record is created or its location/company changes.
        ``attendance_date`` (Date) and ``attendance_time`` (Char "HH:MM:SS") are
        the local date and time of day in that timezone; they are the readable
        fields used by other modules and the API. Writing them (without
        ``attendance_datetime`` in the same values) moves the moment; when
        ``attendance_datetime`` is written, date and time given with it are
        ignored and recomputed. See :meth:`_localize`.

    Uniqueness
        ``duplicate_key`` is computed from the uniqueness settings (config
        parameters ``spp_attendance.date_unique``, ``.time_unique``,
        ``.type_unique``, ``.location_unique``); it is NULL when no criterion is
        chosen or the record is archived. A partial UNIQUE index on it makes the
        database refuse duplicates on every path (UI, import, API, ORM,
        concurrent transactions); the violation is raised as a
        ``ValidationError``. Changing the settings recomputes every key in one
        UPDATE (:meth:`_apply_uniqueness_settings`).
    """

    _name = "spp.attendance.list"
    _description = "Attendance Record"
    _inherit = ["mail.thread"]
    _order = "attendance_datetime desc, id desc"
    _mail_post_access = "read"

    PRESENT = "present"
    ABSENT = "absent"
    ALLOWED_CATEGORIES = [PRESENT, ABSENT]

    subscriber_id = fields.Many2one(
        "spp.attendance.subscriber",
        string="Subscriber",
        required=True,
        index=True,
        ondelete="restrict",
        tracking=True,
    )
    person_identifier = fields.Char(
        related="subscriber_id.person_identifier", string="Person Identifier"
    )
    company_id = fields.Many2one(
        related="subscriber_id.company_id",
        store=True,
        precompute=True,
        index=True,
        string="Company",
    )
    attendance_category = fields.Selection(
        [(PRESENT, "Present"), (ABSENT, "Absent")],
        string="Category",
        required=True,
        default=PRESENT,
        tracking=True,
    )
    attendance_type_id = fields.Many2one(
        "spp.attendance.type",
        string="Type",
        index=True,
        ondelete="restrict",
        tracking=True,
    )
    attendance_location_id = fields.Many2one(
        "spp.attendance.location",
        string="Location",
        index=True,
        ondelete="restrict",
        tracking=True,
    )
    attendance_description = fields.Text(string="Description")
    attendance_external_url = fields.Char(string="External URL", tracking=True)
    attendance_datetime = fields.Datetime(
        string="Date & Time",
        required=True,
        index=True,
        default=fields.Datetime.now,
        tracking=True,
        help="The moment of attendance. Shown in your own timezone; the local "
        "date and time use the timezone of the location.",
    )
    # A Char, not a Selection on _tz_get: Odoo rebuilds and scans the list of
    # ~600 time zones to validate each value, which cost about 1 s per 1,000
    # records created. The compute only ever yields a valid pytz name.
    attendance_tz = fields.Char(
        string="Timezone",
        compute="_compute_attendance_tz",
        store=True,
        precompute=True,
        readonly=True,
        help="Timezone of the local date and time: the location's, else the "
        "company's, else the user's.",
    )
    attendance_date = fields.Date(
        string="Date",
        compute="_compute_local_date_time",
        inverse="_inverse_local_date_time",
        store=True,
        precompute=True,
        readonly=False,
        required=True,
        index=True,
        help="Local date of attendance, in the timezone of the record.",
    )
    attendance_time = fields.Char(
        string="Time",
        size=8,
        compute="_compute_local_date_time",
        inverse="_inverse_local_date_time",
        store=True,
        precompute=True,
        readonly=False,
        required=True,
        help="Local time of day (HH:MM:SS), in the timezone of the record.",
    )
    submitted_by = fields.Char(
        required=True,
        default=lambda self: self.env.user.name,
        help="Who submitted the record (as declared by the capture client).",
    )
    submitted_datetime = fields.Datetime(
        string="Submitted On", required=True, default=fields.Datetime.now
    )
    submission_source = fields.Char(
        help="Channel of the submission, e.g. back office, mobile app, OCR."
    )
    uuid = fields.Char(
        string="Client UUID",
        copy=False,
        help="Optional identifier generated by the capture client; a retry with "
        "the same UUID is recognised instead of creating a duplicate.",
    )
    api_client_id = fields.Many2one(
        "spp.attendance.api.client.credential",
        string="API Client",
        ondelete="set null",
        index="btree_not_null",
        copy=False,
        tracking=True,
        help="The API client that submitted the record (empty for records entered "
        "in the back office).",
    )
    duplicate_key = fields.Char(
        compute="_compute_duplicate_key",
        store=True,
        precompute=True,
        copy=False,
        readonly=True,
        help="Technical: the values that must be unique under the current "
        "uniqueness settings; empty when no rule applies.",
    )
    active = fields.Boolean(default=True, tracking=True)

    _sql_constraints = [
        # Per company: a uuid chosen by another company's client must not collide
        # (nor reveal that it exists). uuid first, so lookups by uuid use the index.
        (
            "uuid_uniq",
            "unique(uuid, company_id)",
            "Another attendance record of this company already has this client UUID.",
        ),
    ]

    def init(self):
        # name: DUPLICATE_KEY_INDEX
        self.env.cr.execute(
            "CREATE UNIQUE INDEX IF NOT EXISTS spp_attendance_list_duplicate_key_uniq "
            "ON spp_attendance_list (duplicate_key) WHERE duplicate_key IS NOT NULL"
        )

    # ------------------------------------------------------------------
    # CRUD
    # ------------------------------------------------------------------

    @api.model
    def _normalize_uuid(self, value):
        """Canonical form of a client UUID ("" / None -> False)."""
        if not value:
            return False
        if isinstance(value, str) and CANONICAL_UUID.fullmatch(value):
            return value  # already canonical: what most clients send
        try:
            return str(uuid_lib.UUID(str(value).strip()))
        except ValueError as exc:
            raise ValidationError(
                _(
                    "Client UUID: '%(value)s' is not a valid UUID (expected "
                    "something like 123e4567-e89b-12d3-a456-426614174000).",
                    value=value,
                )
            ) from exc

    @api.model
    def _prepare_attendance_vals(self, vals):
        vals = dict(vals)
        if vals.get("attendance_datetime"):
            # the moment wins: local date/time are derived from it
            vals.pop("attendance_date", None)
            vals.pop("attendance_time", None)
        if vals.get("attendance_time"):
            vals["attendance_time"] = self._normalize_time(vals["attendance_time"])
        if "uuid" in vals:
            vals["uuid"] = self._normalize_uuid(vals["uuid"])
        if isinstance(vals.get("attendance_external_url"), str):
            vals["attendance_external_url"] = (
                vals["attendance_external_url"].strip() or False
            )
        if vals.get("attendance_category") and (
            vals["attendance_category"] not in self.ALLOWED_CATEGORIES
        ):
            raise ValidationError(
                _(
                    "Category: '%(value)s' is not allowed; use one of: %(allowed)s.",
                    value=vals["attendance_category"],
                    allowed=", ".join(self.ALLOWED_CATEGORIES),
                )
            )
        return vals

    @api.model_create_multi
    def create(self, vals_list):
        vals_list = [self._prepare_attendance_vals(vals) for vals in vals_list]
        # Nobody follows single attendance records, and creation is audited by
        # create_uid/create_date (and the API client): no per-record "created"
        # chatter message, which would triple the cost of bulk creation.
        this = self.with_context(mail_create_nosubscribe=True, mail_create_nolog=True)
        with self._translate_unique_violations():
            records = super(AttendanceList, this).create(vals_list)
        return records.with_env(self.env)

    def write(self, vals):
        vals = self._prepare_attendance_vals(vals)
        with self._translate_unique_violations() as outermost:
            result = super().write(vals)
            if outermost and vals.get("uuid"):
                self._check_uuids(
                    [(vals["uuid"], record.company_id.id) for record in self],
                    exclude_ids=self.ids,
                )
            if outermost and not KEY_FIELDS.isdisjoint(vals):
                self._check_duplicate_keys(
                    self.mapped("duplicate_key"), exclude_ids=self.ids
                )
        return result

    def unlink(self):
        """Delete, leaving a trace on each subscriber's chatter (who, when, what)."""
        bodies = defaultdict(list)
        for record in self.sudo():
            bodies[record.subscriber_id.id].append(record._audit_summary())
        result = super().unlink()
        subscribers = self.env["spp.attendance.subscriber"].browse(list(bodies))
        subscribers = subscribers.sudo().with_context(active_test=False).exists()
        if subscribers:
            user = self.env.user.name
            subscribers._message_log_batch(
                bodies={
                    subscriber.id: Markup("<p>%s</p><ul>%s</ul>")
                    % (
                        _(
                            "%(count)s attendance record(s) deleted by %(user)s:",
                            count=len(bodies[subscriber.id]),
                            user=user,
                        ),
                        Markup().join(
                            Markup("<li>%s</li>") % line
                            for line in bodies[subscriber.id]
                        ),
                    )
                    for subscriber in subscribers
                },
                author_id=self.env.user.partner_id.id,
            )
        return result

    def _audit_summary(self):
        self.ensure_one()
        category = dict(
            self._fields["attendance_category"]._description_selection(self.env)
        ).get(self.attendance_category)
        parts = [
            "#%s" % self.id,
            "%s %s (%s)"
            % (
                fields.Date.to_string(self.attendance_date),
                self.attendance_time,
                self.attendance_tz,
            ),
            category,
        ]
        if self.attendance_type_id:
            parts.append(self.attendance_type_id.name)
        if self.attendance_location_id:
            parts.append(self.attendance_location_id.name)
        if self.submission_source:
            parts.append(self.submission_source)
        if self.uuid:
            parts.append(self.uuid)
        return " - ".join(str(part) for part in parts)

    @api.constrains("attendance_external_url")
    def _check_external_url(self):
        for record in self:
            url = record.attendance_external_url
            if not url:
                continue
            parsed = urlparse(url)
            if parsed.scheme.lower() not in ("http", "https") or not parsed.netloc:
                raise ValidationError(
                    _(
                        "External URL: '%(url)s' is not a valid web address; only "
                        "http:// and https:// addresses are accepted.",
                        url=url,
                    )
                )

    @api.depends("subscriber_id", "attendance_date", "attendance_time")
    def _compute_display_name(self):
        for record in self:
            record.display_name = "%s - %s %s" % (
                record.subscriber_id.name or "",
                fields.Date.to_string(record.attendance_date) or "",
                record.attendance_time or "",
            )

    # ------------------------------------------------------------------
    # Entry point of the demo data file
    # ------------------------------------------------------------------

    @api.model
    def _create_demo_records(self, weeks=6):
        """Demo attendance (called by ``demo/attendance_demo.xml``)."""
        return create_demo_records(self.env, weeks=weeks)
