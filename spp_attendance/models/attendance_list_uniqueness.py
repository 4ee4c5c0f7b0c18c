import logging
import re
from contextlib import contextmanager

import psycopg2

from odoo import _, api, fields, models
from odoo.exceptions import ValidationError
from odoo.tools import SQL

from .attendance_list import (
    DUPLICATE_KEY_INDEX,
    UNIQUENESS_KEYS,
    UNIQUENESS_PARAMS,
    UNIQUENESS_SENTINEL,
    UUID_CONSTRAINT,
    _is_true,
)


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


def install_log_filter():
    """Install the filter on ``odoo.sql_db`` (once). Called from the addon's
    ``__init__``, when the addon is imported."""
    sql_logger = logging.getLogger("odoo.sql_db")
    installed = sql_logger.filters
    if not any(isinstance(f, _HandledUniqueViolationFilter) for f in installed):
        sql_logger.addFilter(_HandledUniqueViolationFilter())


class AttendanceListUniqueness(models.Model):
    """Duplicate keys of attendance records: computed from the uniqueness
    settings, checked before writing (one query per batch), guarded by a partial
    UNIQUE index whose violations become clear ``ValidationError`` s."""

    # One concern per file on purpose (see attendance_list.py): not merged.
    _inherit = "spp.attendance.list"  # pylint: disable=consider-merging-classes-inherited

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
                raise self._duplicate_error(key, in_batch=True)
            seen.add(key)
        row = self._first_stored("duplicate_key", seen, exclude_ids)
        if row:
            raise self._duplicate_error(row[0], existing_id=row[1])

    @api.model
    def _first_stored(self, column, values, exclude_ids=()):
        """``(value, id)`` of one stored record whose ``column`` is among
        ``values`` (other than ``exclude_ids``), or ``None``; one query."""
        if not values:
            return None
        query = SQL(
            "SELECT %s, id FROM spp_attendance_list WHERE %s = ANY(%s)",
            SQL.identifier(column),
            SQL.identifier(column),
            list(values),
        )
        if exclude_ids:
            query = SQL("%s AND id NOT IN %s", query, tuple(exclude_ids))
        self.env.cr.execute(SQL("%s LIMIT 1", query))
        return self.env.cr.fetchone()

    def _prepare_create_values(self, vals_list):
        result = super()._prepare_create_values(vals_list)
        # Friendly messages first; the unique indexes still guard against races.
        # (API batches do not come here: services/submit.py inserts them, after
        # classifying their cards against the same data.)
        self._check_uuids(
            [(vals.get("uuid"), vals.get("company_id")) for vals in result]
        )
        self._check_duplicate_keys([vals.get("duplicate_key") for vals in result])
        return result

    @api.model
    def _check_uuids(self, pairs, exclude_ids=()):
        """Refuse client UUIDs given twice or already stored in the same company
        (one query); ``pairs`` are ``(uuid, company id)``."""
        seen = set()
        for value, company_id in pairs:
            if not value:
                continue
            if (value, company_id) in seen:
                raise ValidationError(
                    _(
                        "Client UUID '%(uuid)s' is given to more than one record; "
                        "each record's client UUID must be unique.",
                        uuid=value,
                    )
                )
            seen.add((value, company_id))
        if not seen:
            return
        # By uuid only, so that the (uuid, company_id) index serves any number of
        # them (a row-value IN of 1,000 pairs is planned as a sequential scan);
        # the company is matched here.
        query = SQL(
            "SELECT uuid, company_id FROM spp_attendance_list WHERE uuid = ANY(%s)",
            [value for value, _company in seen],
        )
        if exclude_ids:
            query = SQL("%s AND id NOT IN %s", query, tuple(exclude_ids))
        self.env.cr.execute(query)
        for row in self.env.cr.fetchall():
            if row in seen:
                raise ValidationError(
                    _(
                        "Client UUID '%(uuid)s' is already used by another "
                        "attendance record; each record's client UUID must be "
                        "unique.",
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
            # "(uuid, company_id)=(<uuid>, <id>)": name the uuid only
            value = value.rsplit(", ", 1)[0]
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
        return self._duplicate_error(value, existing_id=existing.id)

    @api.model
    def _duplicate_error(self, key, existing_id=None, in_batch=False):
        """The ``ValidationError`` refusing a duplicate ``key``.

        A plain ``ValidationError`` (the back office shows it as such), marked
        with ``duplicate_key`` and ``existing_id`` so that callers (the API
        services) recognise a duplicate by its data, never by its message.
        """
        error = ValidationError(
            self._describe_duplicate_key(
                key, existing_id=existing_id, in_batch=in_batch
            )
        )
        error.duplicate_key = key
        error.existing_id = existing_id or None
        return error

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
