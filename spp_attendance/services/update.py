"""``PUT /attendances``: partial updates, all or nothing."""

import pytz

from odoo import _
from odoo.exceptions import ValidationError
from odoo.tools import SQL

from .common import ReferenceChecks, at, column_arrays, is_web_url, names_sql
from .exceptions import BatchRejected, DuplicateRecord, Invalid, NotFound
from .results import ChangeResult, Submission

#: The columns a PUT writes (all of them, for every record).
UPDATE_COLUMNS = (
    "attendance_type_id",
    "attendance_location_id",
    "attendance_category",
    "attendance_description",
    "attendance_external_url",
    "attendance_datetime",
    "attendance_tz",
    "attendance_date",
    "attendance_time",
    "duplicate_key",
    "submitted_by",
    "submitted_datetime",
    "submission_source",
)
#: change key -> field written
FIELDS = (
    ("type_id", "attendance_type_id"),
    ("location_id", "attendance_location_id"),
    ("category", "attendance_category"),
    ("description", "attendance_description"),
    ("url", "attendance_external_url"),
)


class UpdateService(ReferenceChecks):
    def update(self, changes, submission, client=None):
        """Apply :class:`Change` s atomically.

        :return: list of :class:`ChangeResult` (``updated`` or ``unchanged``)
        :raise BatchRejected: nothing was written; the rejected results say why
            (:class:`NotFound` for unknown ids)
        """
        submission = Submission.coerce(submission)
        Attendance = self.env["spp.attendance.list"]
        records = Attendance.search([("id", "in", [change.id for change in changes])])
        by_id = {record.id: record for record in records}
        types = self.active_records(
            "spp.attendance.type",
            [c.values["type_id"] for c in changes if c.values.get("type_id")],
        )
        locations = self.active_records(
            "spp.attendance.location",
            [c.values["location_id"] for c in changes if c.values.get("location_id")],
        )
        results, writes = [], []
        for index, change in enumerate(changes):
            result = ChangeResult(index=index, id=change.id)
            results.append(result)
            record = by_id.get(change.id)
            problem = self._problem(change, record, types, locations)
            if problem:
                result.status, result.error = "rejected", problem
                continue
            vals = self._vals(change, record)
            if vals:
                vals.update(submission.vals())
                writes.append((result, record, vals))
            else:
                result.status = "unchanged"
        if any(result.status == "rejected" for result in results):
            raise BatchRejected(results)
        if writes:
            self._apply(writes, results, client)
        return results

    # -- the set-based write --------------------------------------------------------

    def _apply(self, writes, results, client):
        """Write every change in one UPDATE, with one audit note per record (one
        batch): queries do not grow with the number of records.

        The stored computed fields (time zone, local date and time, duplicate key)
        are computed with the model's own methods, as ``write()`` would; duplicate
        keys are checked against the batch and the stored records (the unique index
        still guards against races); access rights, record rules and the model's
        Python constraints are checked as ``write()`` checks them. The audit note
        lists each changed field (old and new value) instead of a tracking message.
        """
        Attendance = self.env["spp.attendance.list"]
        Attendance.check_access_rights("write")
        flags = Attendance._get_uniqueness_flags()
        records = Attendance.browse(dict.fromkeys(rec.id for _r, rec, _v in writes))
        rows, seen_keys = {}, {}
        before = records._audit_values()
        for result, record, vals in writes:
            row = rows.get(record.id) or {
                name: record[name].id
                if record._fields[name].relational
                else record[name]
                for name in UPDATE_COLUMNS
            }
            row.update(vals)
            row["attendance_tz"] = self.tz_name(
                row["attendance_location_id"], record.company_id.id
            )
            local = pytz.utc.localize(row["attendance_datetime"]).astimezone(
                Attendance._zone(row["attendance_tz"])
            )
            row["attendance_date"] = local.date()
            row["attendance_time"] = local.strftime("%H:%M:%S")
            row["duplicate_key"] = Attendance._make_duplicate_key(
                flags,
                record.subscriber_id.id,
                row["attendance_date"],
                row["attendance_time"],
                row["attendance_type_id"],
                row["attendance_location_id"],
            )
            rows[record.id] = row
            key = row["duplicate_key"]
            if key and seen_keys.get(key, (None, record))[1] != record:
                self._reject(
                    results, result, Attendance._duplicate_error(key, in_batch=True)
                )
            if key:
                seen_keys[key] = (result, record)
        stored = Attendance._first_stored(
            "duplicate_key",
            {row["duplicate_key"] for row in rows.values() if row["duplicate_key"]},
            exclude_ids=tuple(rows),
        )
        if stored:
            self._reject(
                results,
                seen_keys[stored[0]][0],
                Attendance._duplicate_error(stored[0], existing_id=stored[1]),
            )
        self.env.flush_all()
        try:
            with Attendance._translate_unique_violations():
                self.env.cr.execute(
                    SQL(
                        """
                        UPDATE %s AS record
                           SET %s, write_uid = %s, write_date = %s
                          FROM unnest(%s::int4[], %s) AS change(id, %s)
                         WHERE record.id = change.id
                        """,
                        SQL.identifier(Attendance._table),
                        SQL(", ").join(
                            SQL("%s = change.%s", SQL.identifier(n), SQL.identifier(n))
                            for n in UPDATE_COLUMNS
                        ),
                        self.env.uid,
                        self.env.cr.now(),
                        list(rows),
                        column_arrays(Attendance, UPDATE_COLUMNS, list(rows.values())),
                        names_sql(UPDATE_COLUMNS),
                    )
                )
                records.invalidate_recordset(
                    [*UPDATE_COLUMNS, "write_uid", "write_date"]
                )
                if any("attendance_external_url" in v for _r, _rec, v in writes):
                    records._validate_fields(["attendance_external_url"])
                records.check_access_rule("write")
        except ValidationError as exc:
            key = getattr(exc, "duplicate_key", None)
            result = seen_keys[key][0] if key in seen_keys else writes[0][0]
            self._reject(results, result, exc)
        if client:
            records._api_log_changes(before, client)

    def _reject(self, results, result, exc):
        result.status = "rejected"
        result.error = self._write_error(result.index, exc)
        raise BatchRejected(results) from exc

    def _problem(self, change, record, types, locations):
        values, path = change.values, change.path
        if not record:
            return NotFound(
                _("Attendance ID %(id)s does not exist.", id=change.id), field=path
            )
        if values.get("type_id") and values["type_id"] not in types:
            return self.unknown_type(path, values["type_id"])
        if values.get("location_id") and values["location_id"] not in locations:
            return self.unknown_location(path, values["location_id"])
        if values.get("url") and not is_web_url(values["url"]):
            return self.invalid_url(path)
        return None

    def _vals(self, change, record):
        values = change.values
        vals = {fname: values[key] or False for key, fname in FIELDS if key in values}
        if "moment" in values:
            moment = values["moment"]
            if moment.tzinfo is None:
                location_id = vals.get(
                    "attendance_location_id", record.attendance_location_id.id
                )
                tz_name = self.tz_name(location_id, record.company_id.id)
                vals["attendance_datetime"] = record._localize(moment, tz_name=tz_name)[
                    0
                ]
            else:
                vals["attendance_datetime"] = moment.astimezone(pytz.utc).replace(
                    tzinfo=None, microsecond=0
                )
        return vals

    def _write_error(self, index, exc):
        """The typed error of a refused write (the model marks duplicates)."""
        path = "records/%s" % index
        message = at(path, exc.args[0])
        key = getattr(exc, "duplicate_key", None)
        if key:
            return DuplicateRecord(
                message,
                key=key,
                existing_id=getattr(exc, "existing_id", None),
                field=path,
            )
        return Invalid(message, field=path)
