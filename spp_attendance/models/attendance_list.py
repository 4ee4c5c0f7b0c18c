import logging
import re
import uuid as uuid_lib
from collections import defaultdict
from contextlib import contextmanager
from datetime import date, datetime, time
from urllib.parse import urlparse

import psycopg2
import pytz
from dateutil.relativedelta import relativedelta
from markupsafe import Markup

from odoo import _, api, fields, models
from odoo.exceptions import RedirectWarning, UserError, ValidationError
from odoo.tools import SQL

_logger = logging.getLogger(__name__)

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
TIME_RE = re.compile(r"^\s*(\d{1,2}):(\d{2})(?::(\d{2}))?\s*$")


class _HandledUniqueViolationFilter(logging.Filter):
    """Drop ``odoo.sql_db``'s "bad query" ERROR for violations of our two unique
    constraints.

    Those violations only happen in true races between transactions (two devices
    sending the same card at once, a retry racing its lost first attempt); every
    one is caught and answered (``unchanged``/``duplicate`` results, or a clear
    ``ValidationError``). Odoo would still log the whole failing INSERT at ERROR
    level: for a 1,000-card batch that is hundreds of kilobytes of personal data
    in the log, per race. Any other failing query is still logged.
    """

    CONSTRAINTS = frozenset({DUPLICATE_KEY_INDEX, UUID_CONSTRAINT})

    def filter(self, record):
        error = record.args[-1] if isinstance(record.args, tuple) else None
        if isinstance(error, psycopg2.errors.UniqueViolation):
            return error.diag.constraint_name not in self.CONSTRAINTS
        return True


def _install_log_filter():
    sql_logger = logging.getLogger("odoo.sql_db")
    installed = sql_logger.filters
    if not any(isinstance(f, _HandledUniqueViolationFilter) for f in installed):
        sql_logger.addFilter(_HandledUniqueViolationFilter())


_install_log_filter()


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
        (
            "uuid_uniq",
            "unique(uuid)",
            "Another attendance record already has this client UUID.",
        ),
    ]

    def init(self):
        # name: DUPLICATE_KEY_INDEX
        self.env.cr.execute(
            "CREATE UNIQUE INDEX IF NOT EXISTS spp_attendance_list_duplicate_key_uniq "
            "ON spp_attendance_list (duplicate_key) WHERE duplicate_key IS NOT NULL"
        )

    # ------------------------------------------------------------------
    # Time handling
    # ------------------------------------------------------------------

    @api.model
    def _resolve_tz(self, location=None, company=None):
        """Name of the timezone that applies to a record.

        The location's timezone, else the company's (its partner's), else the
        context/user's, else ``"UTC"``.
        """
        company = company or self.env.company
        for candidate in (
            location.tz if location else False,
            company.partner_id.tz if company else False,
            self.env.context.get("tz"),
            self.env.user.tz,
        ):
            if candidate and candidate in pytz.all_timezones_set:
                return candidate
        return "UTC"

    @api.model
    def _localize(self, local_datetime, location=None, company=None, tz_name=None):
        """Convert a naive *local* datetime to the stored UTC moment.

        :param local_datetime: naive ``datetime`` (or "YYYY-MM-DD HH:MM:SS")
            on the local wall clock of the place of attendance
        :param location: ``spp.attendance.location`` record (or id) whose
            timezone applies; see :meth:`_resolve_tz` for the fallbacks
        :param company: ``res.company`` used when the location has no timezone
        :param tz_name: explicit timezone name, overrides location and company
        :return: ``(utc_datetime, tz_name, local_date, local_time)`` where
            ``utc_datetime`` is naive UTC (as ``attendance_datetime`` stores it),
            ``local_date`` a ``date`` and ``local_time`` a "HH:MM:SS" string.
        """
        if isinstance(local_datetime, str):
            local_datetime = fields.Datetime.to_datetime(local_datetime)
        if local_datetime.tzinfo is not None:
            raise ValueError("_localize() expects a naive local datetime")
        if isinstance(location, int):
            location = self.env["spp.attendance.location"].browse(location)
        if isinstance(company, int):
            company = self.env["res.company"].browse(company)
        tz_name = tz_name or self._resolve_tz(location, company)
        tz = pytz.timezone(tz_name)
        # is_dst=False picks standard time for ambiguous and missing local times
        aware = tz.localize(local_datetime.replace(microsecond=0), is_dst=False)
        utc = aware.astimezone(pytz.utc).replace(tzinfo=None)
        return utc, tz_name, local_datetime.date(), local_datetime.strftime("%H:%M:%S")

    @api.model
    def _normalize_time(self, value):
        """Return ``value`` (a ``time`` or "H:MM[:SS]") as "HH:MM:SS"."""
        if isinstance(value, time):
            return value.strftime("%H:%M:%S")
        match = TIME_RE.match(value or "") if isinstance(value, str) else None
        hours, minutes, seconds = (
            (int(match[1]), int(match[2]), int(match[3] or 0)) if match else (99,) * 3
        )
        if hours > 23 or minutes > 59 or seconds > 59:
            raise ValidationError(
                _(
                    "Time: '%(value)s' is not a valid time of day; use the format "
                    "HH:MM:SS (for example 08:30:00).",
                    value=value,
                )
            )
        return "%02d:%02d:%02d" % (hours, minutes, seconds)

    @api.depends("attendance_location_id", "company_id")
    def _compute_attendance_tz(self):
        for record in self:
            record.attendance_tz = self._resolve_tz(
                record.attendance_location_id, record.company_id
            )

    @api.depends("attendance_datetime", "attendance_tz")
    def _compute_local_date_time(self):
        for record in self:
            if not record.attendance_datetime:
                record.attendance_date = False
                record.attendance_time = False
                continue
            tz = pytz.timezone(record.attendance_tz or "UTC")
            local = pytz.utc.localize(record.attendance_datetime).astimezone(tz)
            record.attendance_date = local.date()
            record.attendance_time = local.strftime("%H:%M:%S")

    def _inverse_local_date_time(self):
        for record in self:
            if not record.attendance_date:
                continue
            local_time = self._normalize_time(record.attendance_time or "00:00:00")
            naive = datetime.combine(
                record.attendance_date, time.fromisoformat(local_time)
            )
            record.attendance_datetime = self._localize(
                naive, tz_name=record.attendance_tz or "UTC"
            )[0]

    # ------------------------------------------------------------------
    # Uniqueness
    # ------------------------------------------------------------------

    @api.model
    def _get_uniqueness_flags(self):
        """Active uniqueness criteria, in canonical order, e.g. ``("date", "time")``.

        Read straight from the database (not from the process cache) so that a
        settings change committed by another worker is seen at once, and locked
        (``FOR SHARE``, with the sentinel row) until the end of the transaction
        so that the settings cannot change under a writer's feet.
        """
        self.env["ir.config_parameter"].flush_model(["key", "value"])
        self.env.cr.execute(
            "SELECT key, value FROM ir_config_parameter WHERE key IN %s FOR SHARE",
            [tuple(UNIQUENESS_KEYS | {UNIQUENESS_SENTINEL})],
        )
        values = dict(self.env.cr.fetchall())
        return tuple(
            name
            for name, (param, _code) in UNIQUENESS_PARAMS.items()
            if _is_true(values.get(param))
        )

    @api.model
    def _make_duplicate_key(
        self, flags, subscriber_id, att_date, att_time, type_id, location_id
    ):
        """The duplicate key of a record with these values (``False`` if none).

        Exposed so that batch callers (the API) can detect duplicates inside a
        request before inserting. Must match :meth:`_duplicate_key_sql`.
        """
        if not flags or not isinstance(subscriber_id, int) or not subscriber_id:
            return False
        parts = [
            "".join(UNIQUENESS_PARAMS[flag][1] for flag in flags),
            str(subscriber_id),
        ]
        if "date" in flags:
            parts.append(fields.Date.to_string(att_date) if att_date else "-")
        if "time" in flags:
            parts.append(att_time or "-")
        if "type" in flags:
            parts.append(str(type_id) if type_id else "-")
        if "location" in flags:
            parts.append(str(location_id) if location_id else "-")
        return "|".join(parts)

    @api.model
    def _duplicate_key_sql(self, flags):
        """SQL expression computing the duplicate key of a row (``flags`` set)."""
        code = "".join(UNIQUENESS_PARAMS[flag][1] for flag in flags)
        parts = [SQL("%s::text", code), SQL("subscriber_id::text")]
        if "date" in flags:
            parts.append(SQL("COALESCE(to_char(attendance_date, 'YYYY-MM-DD'), '-')"))
        if "time" in flags:
            parts.append(SQL("COALESCE(NULLIF(attendance_time, ''), '-')"))
        if "type" in flags:
            parts.append(SQL("COALESCE(attendance_type_id::text, '-')"))
        if "location" in flags:
            parts.append(SQL("COALESCE(attendance_location_id::text, '-')"))
        return SQL("concat_ws('|', %s)", SQL(", ").join(parts))

    @api.depends(
        "subscriber_id",
        "attendance_date",
        "attendance_time",
        "attendance_type_id",
        "attendance_location_id",
        "active",
    )
    def _compute_duplicate_key(self):
        flags = self._get_uniqueness_flags()
        for record in self:
            record.duplicate_key = record.active and self._make_duplicate_key(
                flags,
                record.subscriber_id.id,
                record.attendance_date,
                record.attendance_time,
                record.attendance_type_id.id,
                record.attendance_location_id.id,
            )

    @api.model
    def _uniqueness_labels(self, flags):
        labels = {
            "date": _("date"),
            "time": _("time"),
            "type": _("type"),
            "location": _("location"),
        }
        return ", ".join(labels[flag] for flag in flags)

    @api.model
    def _apply_uniqueness_settings(self):
        """Recompute every duplicate key for the current settings, set-based.

        Called whenever a uniqueness parameter changes (Settings or a direct
        ``ir.config_parameter`` write). When existing active records would
        violate the new rule nothing is changed and a ``RedirectWarning`` (with
        the number of conflicts and an action listing them) is raised, which
        rolls the settings change back.

        :return: number of records whose key changed
        """
        cr = self.env.cr
        self.env["ir.config_parameter"].flush_model()
        # Bump the sentinel: waits for in-flight writers, and makes writers
        # that read the old settings fail instead of writing outdated keys.
        cr.execute(
            """
            INSERT INTO ir_config_parameter
                (key, value, create_uid, create_date, write_uid, write_date)
            VALUES (%s, %s, %s, now() at time zone 'UTC', %s, now() at time zone 'UTC')
            ON CONFLICT (key) DO UPDATE
                SET value = EXCLUDED.value, write_uid = EXCLUDED.write_uid,
                    write_date = EXCLUDED.write_date
            """,
            [UNIQUENESS_SENTINEL, uuid_lib.uuid4().hex, self.env.uid, self.env.uid],
        )
        self.env["ir.config_parameter"].invalidate_model()
        self.flush_model()
        flags = self._get_uniqueness_flags()
        if flags:
            expr = self._duplicate_key_sql(flags)
            cr.execute(
                SQL(
                    "SELECT array_agg(id ORDER BY id) FROM spp_attendance_list "
                    "WHERE active GROUP BY %s HAVING count(*) > 1",
                    expr,
                )
            )
            groups = [row[0] for row in cr.fetchall()]
            if groups:
                self._raise_uniqueness_conflicts(flags, groups)
            new_value = SQL("CASE WHEN active THEN %s END", expr)
        else:
            new_value = SQL("NULL::varchar")
        try:
            with cr.savepoint(flush=False):
                cr.execute(
                    SQL(
                        "UPDATE spp_attendance_list SET duplicate_key = %s "
                        "WHERE duplicate_key IS DISTINCT FROM (%s)",
                        new_value,
                        new_value,
                    )
                )
                # Read here: releasing the savepoint resets the cursor's rowcount.
                count = cr.rowcount
        except psycopg2.errors.UniqueViolation as exc:
            raise UserError(
                _(
                    "Attendance records were changed while the uniqueness "
                    "settings were being applied. Please try again."
                )
            ) from exc
        if count:
            # The planner's statistics on duplicate_key are stale after a mass
            # update (e.g. all NULL before): the lookup of every write would be
            # planned as a full index scan until autovacuum analyzes the table.
            cr.execute("ANALYZE spp_attendance_list (duplicate_key)")
        self.invalidate_model(["duplicate_key"])
        _logger.info(
            "Attendance uniqueness set to (%s): %s duplicate keys updated",
            ", ".join(flags) or "none",
            count,
        )
        return count

    @api.model
    def _raise_uniqueness_conflicts(self, flags, groups):
        record_ids = [record_id for group in groups for record_id in group]
        action = {
            "type": "ir.actions.act_window",
            "name": _("Attendance records in conflict"),
            "res_model": self._name,
            "views": [(False, "list"), (False, "form")],
            "view_mode": "list,form",
            "domain": [("id", "in", record_ids)],
            "context": {"group_by": ["subscriber_id"], "create": False},
            "target": "current",
        }
        raise RedirectWarning(
            _(
                "These uniqueness settings cannot be applied: %(records)s existing "
                "attendance records (%(groups)s groups) have the same subscriber "
                "and the same %(fields)s. Correct or archive the duplicates first. "
                "Click 'Show the conflicting records' to see them (Attendance > "
                "Attendance Records, grouped by subscriber).",
                records=len(record_ids),
                groups=len(groups),
                fields=self._uniqueness_labels(flags),
            ),
            action,
            _("Show the conflicting records"),
        )

    @contextmanager
    def _translate_unique_violations(self):
        """Turn the database's unique violations into clear ValidationErrors.

        Runs the block in a savepoint (flushed before it is released) and yields
        whether this is the outermost such block of the transaction (nested
        calls, e.g. an inverse writing inside a write, share the outer one).
        Duplicates are normally refused before any SQL runs (see
        :meth:`_check_duplicate_keys`); the unique index only fires for true
        races between transactions.
        """
        cr = self.env.cr
        if getattr(cr, "_spp_attendance_guard", False):
            yield False
            return
        cr._spp_attendance_guard = True
        try:
            with cr.savepoint():
                yield True
                # Flush here, in this environment: the savepoint's own flush runs
                # in an arbitrary environment of the transaction, and Odoo stamps
                # write_uid with the flushing environment's user (the audit trail
                # of API writes would then name the superuser).
                self.env.flush_all()
        except psycopg2.errors.UniqueViolation as exc:
            raise self._unique_violation_error(exc) from exc
        finally:
            cr._spp_attendance_guard = False

    @api.model
    def _check_duplicate_keys(self, keys, exclude_ids=()):
        """Refuse duplicate keys among ``keys`` or with stored records.

        One query, whatever the number of keys. Raises ``ValidationError``
        with a message naming the subscriber, the values and the rule.
        """
        seen = set()
        for key in keys:
            if not key:
                continue
            if key in seen:
                raise ValidationError(self._describe_duplicate_key(key, in_batch=True))
            seen.add(key)
        if not seen:
            return
        query = (
            "SELECT duplicate_key, id FROM spp_attendance_list "
            "WHERE duplicate_key IN %s"
        )
        params = [tuple(seen)]
        if exclude_ids:
            query += " AND id NOT IN %s"
            params.append(tuple(exclude_ids))
        self.env.cr.execute(query + " LIMIT 1", params)
        row = self.env.cr.fetchone()
        if row:
            raise ValidationError(
                self._describe_duplicate_key(row[0], existing_id=row[1])
            )

    def _prepare_create_values(self, vals_list):
        result = super()._prepare_create_values(vals_list)
        # The API batch classified its cards against the same data already (one
        # query each); the unique indexes still guard against races.
        if not self.env.context.get("spp_attendance_prechecked"):
            self._check_uuids([vals.get("uuid") for vals in result])
            self._check_duplicate_keys([vals.get("duplicate_key") for vals in result])
        return result

    @api.model
    def _check_uuids(self, uuids, exclude_ids=()):
        """Refuse client UUIDs given twice or already stored (one query)."""
        seen = set()
        for value in uuids:
            if not value:
                continue
            if value in seen:
                raise ValidationError(
                    _(
                        "Client UUID '%(uuid)s' is given to more than one record; "
                        "each record's client UUID must be unique.",
                        uuid=value,
                    )
                )
            seen.add(value)
        if not seen:
            return
        query = "SELECT uuid FROM spp_attendance_list WHERE uuid IN %s"
        params = [tuple(seen)]
        if exclude_ids:
            query += " AND id NOT IN %s"
            params.append(tuple(exclude_ids))
        self.env.cr.execute(query + " LIMIT 1", params)
        row = self.env.cr.fetchone()
        if row:
            raise ValidationError(
                _(
                    "Client UUID '%(uuid)s' is already used by another attendance "
                    "record; each record's client UUID must be unique.",
                    uuid=row[0],
                )
            )

    @api.model
    def _unique_violation_error(self, exc):
        constraint = exc.diag.constraint_name
        detail = exc.diag.message_detail or ""
        match = re.search(r"\)=\((.*)\) already exists", detail)
        value = match[1] if match else ""
        if constraint == UUID_CONSTRAINT:
            return ValidationError(
                _(
                    "Client UUID '%(uuid)s' is already used by another attendance "
                    "record; each record's client UUID must be unique.",
                    uuid=value,
                )
            )
        if constraint != DUPLICATE_KEY_INDEX:
            return ValidationError(
                _("This value must be unique: %(detail)s", detail=detail)
            )
        existing = self.sudo().search([("duplicate_key", "=", value)], limit=1)
        return ValidationError(
            self._describe_duplicate_key(value, existing_id=existing.id)
        )

    @api.model
    def _describe_duplicate_key(self, key, existing_id=None, in_batch=False):
        codes = {code: name for name, (_param, code) in UNIQUENESS_PARAMS.items()}
        parts = key.split("|")
        flags = [codes[code] for code in parts[0] if code in codes]
        subscriber = self.env["spp.attendance.subscriber"].sudo()
        if len(parts) > 1 and parts[1].isdigit():
            subscriber = subscriber.browse(int(parts[1])).exists()
        values = dict(zip(flags, parts[2:], strict=False))
        if values.get("type", "-") != "-":
            values["type"] = (
                self.env["spp.attendance.type"].sudo().browse(int(values["type"])).name
            )
        if values.get("location", "-") != "-":
            values["location"] = (
                self.env["spp.attendance.location"]
                .sudo()
                .browse(int(values["location"]))
                .name
            )
        labels = {
            "date": _("date"),
            "time": _("time"),
            "type": _("type"),
            "location": _("location"),
        }
        described = ", ".join(
            "%s %s"
            % (
                labels[flag],
                values.get(flag) if values.get(flag) != "-" else _("(none)"),
            )
            for flag in flags
        )
        if existing_id:
            where = _("an existing record (#%s)", existing_id)
        elif in_batch:
            where = _("another record in the same submission")
        else:
            where = _("a record saved at the same moment by another user or process")
        return _(
            "Duplicate attendance: %(subscriber)s already has %(where)s with the "
            "same %(described)s. The uniqueness settings allow only one record "
            "per subscriber with the same %(fields)s.",
            subscriber="%s (%s)" % (subscriber.name, subscriber.person_identifier)
            if subscriber
            else _("this subscriber"),
            where=where,
            described=described,
            fields=self._uniqueness_labels(flags),
        )

    # ------------------------------------------------------------------
    # CRUD
    # ------------------------------------------------------------------

    @api.model
    def _normalize_uuid(self, value):
        """Canonical form of a client UUID ("" / None -> False)."""
        if not value:
            return False
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
                self._check_uuids([vals["uuid"]] * len(self), exclude_ids=self.ids)
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
    # History queries
    # ------------------------------------------------------------------

    @api.model
    def _history_domain(
        self,
        subscribers,
        date_from=None,
        date_to=None,
        type_ids=None,
        location_ids=None,
        category=None,
    ):
        """Domain of the attendance of ``subscribers`` matching the filters.

        Bounds are inclusive and each one applies on its own. ``type_ids`` and
        ``location_ids`` accept an id, a list of ids or a recordset. Raises
        ``UserError`` on inconsistent filters.
        """
        date_from = self._to_date(date_from, _("Start date"))
        date_to = self._to_date(date_to, _("End date"))
        if date_from and date_to and date_from > date_to:
            raise UserError(
                _(
                    "The start date (%(start)s) must be on or before the end date "
                    "(%(end)s).",
                    start=date_from,
                    end=date_to,
                )
            )
        domain = [("subscriber_id", "in", subscribers.ids)]
        if date_from:
            domain.append(("attendance_date", ">=", date_from))
        if date_to:
            domain.append(("attendance_date", "<=", date_to))
        for fname, value in (
            ("attendance_type_id", type_ids),
            ("attendance_location_id", location_ids),
        ):
            if value:
                ids = value.ids if isinstance(value, models.BaseModel) else value
                domain.append((fname, "in", [ids] if isinstance(ids, int) else ids))
        if category:
            if category not in self.ALLOWED_CATEGORIES:
                raise UserError(
                    _(
                        "Category: '%(value)s' is not allowed; use one of: "
                        "%(allowed)s.",
                        value=category,
                        allowed=", ".join(self.ALLOWED_CATEGORIES),
                    )
                )
            domain.append(("attendance_category", "=", category))
        return domain

    @api.model
    def _to_date(self, value, label):
        if not value or isinstance(value, date):
            return value.date() if isinstance(value, datetime) else value
        try:
            return fields.Date.to_date(value)
        except (TypeError, ValueError) as exc:
            raise UserError(
                _(
                    "%(label)s: '%(value)s' is not a valid date (use YYYY-MM-DD).",
                    label=label,
                    value=value,
                )
            ) from exc

    # ------------------------------------------------------------------
    # Demo data
    # ------------------------------------------------------------------

    @api.model
    def _create_demo_records(self, weeks=6):
        """Create deterministic demo attendance for the demo subscribers.

        One record per demo subscriber per weekday over the last ``weeks``
        weeks, so that every uniqueness combination that includes the date
        holds. Does nothing when demo records exist already.
        """
        if self.with_context(active_test=False).search_count(
            [("submission_source", "=", "Demo")], limit=1
        ):
            return self
        ref = self.env.ref
        subscribers = [
            ref(f"spp_attendance.demo_subscriber_{i:02d}", raise_if_not_found=False)
            for i in range(1, 21)
        ]
        subscribers = [subscriber for subscriber in subscribers if subscriber]
        types = [
            ref("spp_attendance.demo_type_training"),
            ref("spp_attendance.demo_type_meeting"),
            ref("spp_attendance.demo_type_distribution"),
            ref("spp_attendance.demo_type_health"),
            ref("spp_attendance.demo_type_training"),
        ]
        locations = [
            ref("spp_attendance.demo_location_hall"),
            ref("spp_attendance.demo_location_center"),
            ref("spp_attendance.demo_location_school"),
        ]
        today = fields.Date.context_today(self)
        start = today - relativedelta(weeks=weeks, weekday=0)
        vals_list = []
        for day_index in range((today - start).days + 1):
            day = start + relativedelta(days=day_index)
            if day.weekday() > 4:
                continue
            for index, subscriber in enumerate(subscribers):
                # deterministic pattern: ~80% present, ~10% absent, ~10% no record
                roll = (index * 7 + day.toordinal() * 3) % 10
                if roll == 9:
                    continue
                vals_list.append(
                    {
                        "subscriber_id": subscriber.id,
                        "attendance_category": self.ABSENT
                        if roll == 8
                        else self.PRESENT,
                        "attendance_type_id": types[day.weekday()].id,
                        "attendance_location_id": locations[index % 3].id,
                        "attendance_date": day,
                        "attendance_time": "%02d:%02d:00"
                        % (8 + index % 3, (index * 5) % 60),
                        "submitted_by": "Demo field officer",
                        "submission_source": "Demo",
                    }
                )
        return self.create(vals_list)

    # ------------------------------------------------------------------
    # API batches (POST / PUT / DELETE /attendances)
    # ------------------------------------------------------------------

    @api.model
    def _api_submit(
        self, cards, submission, client=None, ignore_unique=False, atomic=True
    ):
        """Store a batch of time cards; one result per card, in order.

        The business side of ``POST /attendances``; set-based: a constant number of
        queries whatever the number of cards (persons, types, locations, uuids and
        duplicate keys are each looked up once, the records created in one batch).

        :param cards: list of dicts with ``person_id`` (identifier), ``moment``
            (naive local ``datetime`` or aware ``datetime``), ``type_id``,
            ``location_id`` (int or ``None``), ``category``, ``description``,
            ``url``, ``uuid`` (str or ``None``) and ``path`` (where the card is in
            the request, used in messages)
        :param submission: dict with ``submitted_by``, ``submitted_datetime``
            (naive UTC) and ``submission_source``
        :param client: the ``spp.attendance.api.client.credential`` submitting
        :param ignore_unique: report duplicates as ``duplicate`` instead of
            rejecting them
        :param atomic: store nothing when a card is rejected
        :return: list of dicts with ``index``, ``person_id``, ``status``
            (``created``, ``duplicate``, ``unchanged``, ``rejected``), ``id``,
            ``uuid`` and, for rejections, ``reason`` and ``message``
        """
        results = [
            {
                "index": index,
                "person_id": card["person_id"],
                "status": None,
                "id": None,
                "uuid": card.get("uuid") or None,
            }
            for index, card in enumerate(cards)
        ]
        prepared = self._api_prepare_cards(cards, submission, client, results)
        for _attempt in range(3):
            self._api_classify(prepared, results, ignore_unique)
            rejected = any(result["status"] == "rejected" for result in results)
            if rejected and atomic:
                for result in results:
                    if result["status"] != "rejected":
                        result.update(
                            status="rejected",
                            id=None,
                            reason="not_stored",
                            message=_(
                                "Not stored: another card of this request was "
                                "rejected and the request is atomic."
                            ),
                        )
                return results
            to_create = [item for item in prepared if item["status"] == "create"]
            try:
                with self.env.cr.savepoint():
                    records = self.with_context(spp_attendance_prechecked=True).create(
                        [item["vals"] for item in to_create]
                    )
            except ValidationError:
                # A concurrent request committed the same uuid or duplicate key
                # after this transaction's snapshot: classify again against what
                # is committed now.
                if not self._api_load_committed(prepared):
                    raise
                continue
            for item, record in zip(to_create, records, strict=True):
                results[item["index"]].update(status="created", id=record.id)
            break
        else:
            raise UserError(_("The attendance records changed concurrently; retry."))
        for item in prepared:
            result = results[item["index"]]
            if item.get("same_as") is not None and not result["id"]:
                result["id"] = results[item["same_as"]]["id"]
        return results

    @api.model
    def _api_prepare_cards(self, cards, submission, client, results):
        """Resolve persons, types and locations (one query each), localise the
        moments and build the values of every card; rejections go to
        ``results``."""
        Subscriber = self.env["spp.attendance.subscriber"]
        person_ids = {card["person_id"] for card in cards}
        subscribers = {
            subscriber.person_identifier: subscriber
            for subscriber in Subscriber.search(
                [
                    ("person_identifier", "in", list(person_ids)),
                    ("company_id", "in", self.env.companies.ids),
                ]
            )
        }
        types = self.env["spp.attendance.type"].browse(
            {card["type_id"] for card in cards if card["type_id"]}
        )
        types = {record.id: record for record in types.exists() if record.active}
        locations = self.env["spp.attendance.location"].browse(
            {card["location_id"] for card in cards if card["location_id"]}
        )
        locations = {
            record.id: record for record in locations.exists() if record.active
        }
        flags = self._get_uniqueness_flags()
        prepared = []
        for index, card in enumerate(cards):
            item = {"index": index, "status": "create", "card": card}
            prepared.append(item)
            problem = self._api_card_problem(card, subscribers, types, locations)
            if problem:
                item["status"] = "rejected"
                results[index].update(
                    status="rejected", reason=problem[0], message=problem[1]
                )
                continue
            subscriber = subscribers[card["person_id"]]
            location = locations.get(card["location_id"])
            moment = card["moment"]
            if moment.tzinfo is None:
                utc, _tz, local_date, local_time = self._localize(
                    moment, location, subscriber.company_id
                )
            else:
                tz_name = self._resolve_tz(location, subscriber.company_id)
                utc = moment.astimezone(pytz.utc).replace(tzinfo=None, microsecond=0)
                local = pytz.utc.localize(utc).astimezone(pytz.timezone(tz_name))
                local_date, local_time = local.date(), local.strftime("%H:%M:%S")
            vals = {
                "subscriber_id": subscriber.id,
                "attendance_datetime": utc,
                "attendance_category": card["category"],
                "attendance_type_id": card["type_id"] or False,
                "attendance_location_id": card["location_id"] or False,
                "attendance_description": card["description"] or False,
                "attendance_external_url": card["url"] or False,
                "uuid": card["uuid"] or False,
                "submitted_by": submission["submitted_by"],
                "submitted_datetime": submission["submitted_datetime"],
                "submission_source": submission["submission_source"] or False,
                "api_client_id": client.id if client else False,
            }
            item["vals"] = vals
            item["key"] = self._make_duplicate_key(
                flags,
                subscriber.id,
                local_date,
                local_time,
                vals["attendance_type_id"],
                vals["attendance_location_id"],
            )
            results[index]["uuid"] = vals["uuid"] or None
        self._api_load_stored(prepared)
        return prepared

    @api.model
    def _api_card_problem(self, card, subscribers, types, locations):
        """``(reason, message)`` when a card cannot be stored, else ``None``."""
        path = card.get("path", "")
        if card["person_id"] not in subscribers:
            return "unknown_person", _(
                "%(path)s: person_id %(person)s does not exist.",
                path=path,
                person=card["person_id"],
            )
        if card["type_id"] and card["type_id"] not in types:
            return "unknown_type", _(
                "%(path)s: Attendance Type %(id)s does not exist.",
                path=path,
                id=card["type_id"],
            )
        if card["location_id"] and card["location_id"] not in locations:
            return "unknown_location", _(
                "%(path)s: Attendance Location %(id)s does not exist.",
                path=path,
                id=card["location_id"],
            )
        if card["uuid"]:
            try:
                card["uuid"] = self._normalize_uuid(card["uuid"])
            except ValidationError as exc:
                return "invalid_uuid", "%s: %s" % (path, exc.args[0])
        url = card["url"]
        if url:
            parsed = urlparse(url)
            if parsed.scheme.lower() not in ("http", "https") or not parsed.netloc:
                return "invalid_url", _(
                    "%(path)s: attendance_external_url must be an http or https "
                    "address.",
                    path=path,
                )
        return None

    _API_FINGERPRINT = (
        "subscriber_id",
        "attendance_datetime",
        "attendance_category",
        "attendance_type_id",
        "attendance_location_id",
        "attendance_description",
        "attendance_external_url",
    )

    @api.model
    def _api_load_stored(self, prepared):
        """Stored records sharing a uuid or a duplicate key with the cards (one
        query), as ``{"uuid": {uuid: row}, "key": {key: row}}`` on each item."""
        items = [item for item in prepared if item["status"] != "rejected"]
        uuids = [item["vals"]["uuid"] for item in items if item["vals"]["uuid"]]
        keys = [item["key"] for item in items if item["key"]]
        self.flush_model()
        self.env.cr.execute(
            "SELECT id, uuid, duplicate_key, %s FROM spp_attendance_list "
            "WHERE uuid = ANY(%%s) OR duplicate_key = ANY(%%s)"
            % ", ".join(self._API_FINGERPRINT),
            [uuids, keys],
        )
        self._api_index_rows(prepared, self.env.cr.dictfetchall())

    @api.model
    def _api_load_committed(self, prepared):
        """Like :meth:`_api_load_stored`, but sees what other transactions have
        committed since this one started (a new cursor). True if anything was
        found."""
        items = [item for item in prepared if item["status"] != "rejected"]
        uuids = [item["vals"]["uuid"] for item in items if item["vals"]["uuid"]]
        keys = [item["key"] for item in items if item["key"]]
        with self.env.registry.cursor() as cr:
            cr.execute(
                "SELECT id, uuid, duplicate_key, %s FROM spp_attendance_list "
                "WHERE uuid = ANY(%%s) OR duplicate_key = ANY(%%s)"
                % ", ".join(self._API_FINGERPRINT),
                [uuids, keys],
            )
            rows = cr.dictfetchall()
        self._api_index_rows(prepared, rows)
        return bool(rows)

    @api.model
    def _api_index_rows(self, prepared, rows):
        by_uuid = {row["uuid"]: row for row in rows if row["uuid"]}
        by_key = {row["duplicate_key"]: row for row in rows if row["duplicate_key"]}
        for item in prepared:
            if item["status"] == "rejected":
                continue
            item["stored_uuid"] = by_uuid.get(item["vals"]["uuid"])
            item["stored_key"] = by_key.get(item["key"])

    @api.model
    def _api_fingerprint(self, values):
        def norm(fname, value):
            if isinstance(value, models.BaseModel):
                value = value.id
            return value or False

        return tuple(norm(fname, values.get(fname)) for fname in self._API_FINGERPRINT)

    @api.model
    def _api_classify(self, prepared, results, ignore_unique):
        """Decide each card's fate: ``create``, ``unchanged`` (uuid retry),
        ``duplicate`` or ``rejected``; duplicates inside the request count."""
        seen_uuids, seen_keys = {}, {}
        for item in prepared:
            index = item["index"]
            result = results[index]
            if item["status"] == "rejected" and result.get("reason") not in (
                "duplicate",
                "uuid_conflict",
            ):
                continue
            item["status"], item["same_as"] = "create", None
            result.update(status=None, id=None)
            result.pop("reason", None)
            result.pop("message", None)
            vals, key = item["vals"], item["key"]
            fingerprint = self._api_fingerprint(vals)
            path = item["card"].get("path", "")
            stored = item.get("stored_uuid")
            if vals["uuid"] and (stored or vals["uuid"] in seen_uuids):
                same = (
                    self._api_fingerprint(stored) == fingerprint
                    if stored
                    else prepared[seen_uuids[vals["uuid"]]]["fingerprint"]
                    == fingerprint
                )
                if same:
                    item["status"] = "unchanged"
                    item["same_as"] = None if stored else seen_uuids[vals["uuid"]]
                    result.update(
                        status="unchanged", id=stored["id"] if stored else None
                    )
                else:
                    item["status"] = "rejected"
                    result.update(
                        status="rejected",
                        reason="uuid_conflict",
                        message=_(
                            "%(path)s: uuid %(uuid)s was already used for a "
                            "different attendance record.",
                            path=path,
                            uuid=vals["uuid"],
                        ),
                    )
                continue
            stored = item.get("stored_key")
            if key and (stored or key in seen_keys):
                if ignore_unique:
                    item["status"] = "duplicate"
                    item["same_as"] = None if stored else seen_keys[key]
                    result.update(
                        status="duplicate", id=stored["id"] if stored else None
                    )
                else:
                    item["status"] = "rejected"
                    result.update(
                        status="rejected",
                        reason="duplicate",
                        message="%s: %s"
                        % (
                            path,
                            self._describe_duplicate_key(
                                key,
                                existing_id=stored["id"] if stored else None,
                                in_batch=not stored,
                            ),
                        ),
                    )
                continue
            item["fingerprint"] = fingerprint
            if vals["uuid"]:
                seen_uuids[vals["uuid"]] = index
            if key:
                seen_keys[key] = index

    @api.model
    def _api_update(self, changes, submission, client=None):
        """Apply partial updates atomically (``PUT /attendances``).

        :param changes: list of dicts with ``id``, ``path`` and the fields given
            in the time card: ``moment``, ``type_id``, ``location_id``,
            ``category``, ``description``, ``url`` (absent keys are unchanged;
            a ``None`` type or location clears it)
        :return: ``(ok, results)``; when ``ok`` is False nothing was written and
            the rejected items say why (``reason`` ``not_found`` for unknown ids)
        """
        ids = [change["id"] for change in changes]
        records = self.search(
            [("id", "in", ids), ("company_id", "in", self.env.companies.ids)]
        )
        by_id = {record.id: record for record in records}
        types = (
            self.env["spp.attendance.type"]
            .browse({c["type_id"] for c in changes if c.get("type_id")})
            .exists()
            .filtered("active")
        )
        locations = (
            self.env["spp.attendance.location"]
            .browse({c["location_id"] for c in changes if c.get("location_id")})
            .exists()
            .filtered("active")
        )
        results = []
        writes = []
        for index, change in enumerate(changes):
            result = {"index": index, "id": change["id"], "status": "updated"}
            results.append(result)
            path = change.get("path", "")
            record = by_id.get(change["id"])
            problem = None
            if not record:
                problem = (
                    "not_found",
                    _("Attendance ID %(id)s does not exist.", id=change["id"]),
                )
            elif change.get("type_id") and change["type_id"] not in types.ids:
                problem = (
                    "unknown_type",
                    _(
                        "%(path)s: Attendance Type %(id)s does not exist.",
                        path=path,
                        id=change["type_id"],
                    ),
                )
            elif (
                change.get("location_id") and change["location_id"] not in locations.ids
            ):
                problem = (
                    "unknown_location",
                    _(
                        "%(path)s: Attendance Location %(id)s does not exist.",
                        path=path,
                        id=change["location_id"],
                    ),
                )
            elif change.get("url"):
                parsed = urlparse(change["url"])
                if parsed.scheme.lower() not in ("http", "https") or not parsed.netloc:
                    problem = (
                        "invalid_url",
                        _(
                            "%(path)s: attendance_external_url must be an http or "
                            "https address.",
                            path=path,
                        ),
                    )
            if problem:
                result.update(status="rejected", reason=problem[0], message=problem[1])
                continue
            vals = {}
            for key, fname in (
                ("type_id", "attendance_type_id"),
                ("location_id", "attendance_location_id"),
                ("category", "attendance_category"),
                ("description", "attendance_description"),
                ("url", "attendance_external_url"),
            ):
                if key in change:
                    vals[fname] = change[key] or False
            if "moment" in change:
                moment = change["moment"]
                location = self.env["spp.attendance.location"].browse(
                    vals.get("attendance_location_id", record.attendance_location_id.id)
                )
                if moment.tzinfo is None:
                    vals["attendance_datetime"] = self._localize(
                        moment, location or None, record.company_id
                    )[0]
                else:
                    vals["attendance_datetime"] = moment.astimezone(pytz.utc).replace(
                        tzinfo=None, microsecond=0
                    )
            if vals:
                vals.update(
                    submitted_by=submission["submitted_by"],
                    submitted_datetime=submission["submitted_datetime"],
                    submission_source=submission["submission_source"] or False,
                )
                writes.append((result, record, vals))
            else:
                result["status"] = "unchanged"
        if any(result["status"] == "rejected" for result in results):
            return False, results
        try:
            with self.env.cr.savepoint():
                for result, record, vals in writes:
                    try:
                        record.write(vals)
                    except ValidationError as exc:
                        result.update(
                            status="rejected",
                            reason="duplicate"
                            if "Duplicate" in str(exc)
                            else "invalid",
                            message="records/%s: %s" % (result["index"], exc.args[0]),
                        )
                        raise
        except ValidationError:
            return False, results
        if writes and client:
            self._api_log(
                [record for _result, record, _vals in writes],
                _("Changed through the API by client %(client)s.", client=client.name),
            )
        return True, results

    @api.model
    def _api_archive(self, ids, client=None):
        """Remove records from every view, recoverably (``DELETE /attendances``).

        Archived records keep their history and no longer count for uniqueness.

        :return: ``(archived_ids, missing_ids)``
        """
        records = self.search(
            [("id", "in", ids), ("company_id", "in", self.env.companies.ids)]
        )
        missing = [record_id for record_id in ids if record_id not in records.ids]
        if records:
            records.write({"active": False})
            if client:
                self._api_log(
                    records,
                    _(
                        "Removed (archived) through the API by client %(client)s.",
                        client=client.name,
                    ),
                )
        return records.ids, missing

    @api.model
    def _api_log(self, records, message):
        """One chatter note per record naming the API client (batched)."""
        records = self.browse([record.id for record in records])
        records._message_log_batch(bodies={record.id: message for record in records})

    def _api_item(self):
        """The upstream JSON shape of this record (see ``GET /attendance/<pid>``)."""
        self.ensure_one()

        def named(record):
            if not record:
                return {}
            return {
                "id": record.id,
                "name": record.name,
                "description": record.description or False,
            }

        return {
            "id": self.id,
            "uuid": self.uuid or None,
            "date": fields.Date.to_string(self.attendance_date),
            "time": self.attendance_time,
            "attendance_category": self.attendance_category,
            "attendance_type": named(self.attendance_type_id),
            "attendance_location": named(self.attendance_location_id),
            "attendance_description": self.attendance_description or "",
            "attendance_external_url": self.attendance_external_url or "",
            "submitted_by": self.submitted_by or "",
            "submitted_datetime": fields.Datetime.to_string(self.submitted_datetime)
            or "",
            "submission_source": self.submission_source or "",
        }
