"""``PUT /attendances``: partial updates, all or nothing."""

import pytz

from odoo import _
from odoo.exceptions import ValidationError

from .common import ReferenceChecks, at, is_web_url
from .exceptions import BatchRejected, DuplicateRecord, Invalid, NotFound
from .results import ChangeResult, Submission

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
        try:
            with self.env.cr.savepoint():
                for result, record, vals in writes:
                    try:
                        record.write(vals)
                    except ValidationError as exc:
                        result.status = "rejected"
                        result.error = self._write_error(result.index, exc)
                        raise
        except ValidationError as exc:
            raise BatchRejected(results) from exc
        if writes and client:
            Attendance._api_log(
                [record for _result, record, _vals in writes],
                _("Changed through the API by client %(client)s.", client=client.name),
            )
        return results

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
                location = self.env["spp.attendance.location"].browse(
                    vals.get("attendance_location_id", record.attendance_location_id.id)
                )
                vals["attendance_datetime"] = record._localize(
                    moment, location or None, record.company_id
                )[0]
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
