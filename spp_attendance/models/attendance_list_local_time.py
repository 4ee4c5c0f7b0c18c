import functools
import re
from datetime import datetime, time

import pytz

from odoo import _, api, fields, models
from odoo.exceptions import ValidationError

TIME_RE = re.compile(r"^\s*(\d{1,2}):(\d{2})(?::(\d{2}))?\s*$")


@functools.cache
def zone(tz_name):
    """``pytz.timezone(tz_name)``, looked up once per name (a batch localises
    thousands of moments in a handful of zones)."""
    return pytz.timezone(tz_name)


class AttendanceListLocalTime(models.Model):
    """Time zones of attendance records: the UTC moment and the local date and
    time of day (see the time model in :class:`.attendance_list.AttendanceList`)."""

    # One concern per file on purpose (see attendance_list.py): not merged.
    _inherit = "spp.attendance.list"  # pylint: disable=consider-merging-classes-inherited

    @api.model
    def _resolve_tz(self, location=None, company=None):
        """Name of the timezone that applies to a record.

        The location's timezone, else the company's (its partner's), else the
        context/user's, else ``"UTC"``.
        """
        company = company or self.env.company
        return next(
            (
                name
                for name in self._tz_candidates(location, company)
                if name and name in pytz.all_timezones_set
            ),
            "UTC",
        )

    def _tz_candidates(self, location, company):
        """The timezones of :meth:`_resolve_tz`, in order, each read only if the
        ones before it are not valid: the company's and the user's contacts cost
        queries (and record rules) that most records never need."""
        yield location.tz if location else False
        yield company.partner_id.tz if company else False
        yield self.env.context.get("tz")
        yield self.env.user.tz

    @api.model
    def _zone(self, tz_name):
        """The ``pytz`` timezone named ``tz_name`` (looked up once per worker)."""
        return zone(tz_name)

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
        tz = zone(tz_name)
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
