from datetime import date, datetime

from odoo import _, _lt, api, fields, models
from odoo.exceptions import UserError

# Translated only for an error message; built once (_lt inspects its caller).
START_DATE = _lt("Start date")
END_DATE = _lt("End date")


class AttendanceListHistory(models.Model):
    """Filters of a subscriber's attendance history (back office and API)."""

    # One concern per file on purpose (see attendance_list.py): not merged.
    _inherit = "spp.attendance.list"  # pylint: disable=consider-merging-classes-inherited

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
        """Domain of the attendance of ``subscribers`` (a recordset, ids, or the
        ``Query`` of a subscriber search: a subquery) matching the filters.

        Bounds are inclusive and each one applies on its own. ``type_ids`` and
        ``location_ids`` accept an id, a list of ids or a recordset. Raises
        ``UserError`` on inconsistent filters.
        """
        date_from = self._to_date(date_from, START_DATE)
        date_to = self._to_date(date_to, END_DATE)
        if date_from and date_to and date_from > date_to:
            raise UserError(
                _(
                    "The start date (%(start)s) must be on or before the end date "
                    "(%(end)s).",
                    start=date_from,
                    end=date_to,
                )
            )
        if isinstance(subscribers, models.BaseModel):
            subscribers = subscribers.ids
        domain = [("subscriber_id", "in", subscribers)]
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
