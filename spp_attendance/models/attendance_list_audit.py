from markupsafe import Markup

from odoo import _, api, models

#: The fields an API change's audit note reports, old and new value.
AUDITED = (
    "attendance_date",
    "attendance_time",
    "attendance_category",
    "attendance_type_id",
    "attendance_location_id",
    "attendance_description",
    "attendance_external_url",
)


class AttendanceListAudit(models.Model):
    """Audit notes of the API's writes: one chatter note per record, in one batch,
    naming the API client (and, for a change, each field's old and new value)."""

    # One concern per file on purpose (see attendance_list.py): not merged.
    _inherit = "spp.attendance.list"  # pylint: disable=consider-merging-classes-inherited

    @api.model
    def _api_log(self, records, message):
        """One chatter note per record naming the API client (batched)."""
        records = self.browse([record.id for record in records])
        records._message_log_batch(bodies={record.id: message for record in records})

    def _audit_values(self):
        """``{id: {field: value as it reads in a note}}`` of the audited fields."""
        values = {}
        for record in self:
            values[record.id] = row = {}
            for name in AUDITED:
                field, value = record._fields[name], record[name]
                if field.type == "many2one":
                    value = value.display_name
                elif field.type == "selection":
                    value = dict(field._description_selection(record.env)).get(value)
                row[name] = value
        return values

    def _api_log_changes(self, before, client):
        """One note per record naming the API client and each changed field, old
        and new value (``before``: :meth:`_audit_values` before the change); one
        batch, instead of a tracking message per field."""
        after = self._audit_values()
        bodies = {}
        for record in self:
            old, new = before[record.id], after[record.id]
            lines = Markup().join(
                Markup("<li>%s: %s → %s</li>")
                % (
                    record._fields[name]._description_string(record.env),
                    old[name] or "",
                    new[name] or "",
                )
                for name in AUDITED
                if old[name] != new[name]
            )
            bodies[record.id] = Markup("<p>%s</p><ul>%s</ul>") % (
                _("Changed through the API by client %(client)s.", client=client.name),
                lines,
            )
        self._message_log_batch(bodies=bodies)
