import functools
import re
from datetime import datetime, time, timedelta

import pytz

from odoo import _, api, fields, models
from odoo.exceptions import ValidationError

TIME_RE = re.compile(r"^\s*(\d{1,2}):(\d{2})(?::(\d{2}))?\s*$")


@functools.cache
def zone(tz_name):
    """``pytz.timezone(tz_name)``, looked up once per name (a batch localises
    thousands of moments in a handful of zones)."""
    return pytz.timezone(tz_name)


#: The last second of an hour, from its first.
_REST_OF_HOUR = timedelta(minutes=59, seconds=59)


@functools.lru_cache(maxsize=8192)  # ≈ 2 MiB: a few weeks of hours in 20 zones
def regular_offset(tz_name, hour):
    """The UTC offset of every wall-clock time of the local ``hour`` (a naive
    datetime at :00:00) in ``tz_name``, or ``None`` when the hour holds a
    change of offset, a skipped or a repeated time.

    Such an hour is read with ``pytz`` time by time; any other maps each of its
    times to one moment by one subtraction, which a batch of cards does
    thousands of times in a few hours. An offset change inside the hour makes
    its first and last second differ; a skipped or repeated time at either
    end makes ``is_dst`` matter there; either way there is no single offset.
    """
    tz = zone(tz_name)
    offsets = {
        tz.localize(moment, is_dst=is_dst).utcoffset()
        for moment in (hour, hour + _REST_OF_HOUR)
        for is_dst in (False, True)
    }
    return offsets.pop() if len(offsets) == 1 else None


def to_utc(local, tz_name):
    """``(utc, regular)``: the naive UTC moment of the naive wall-clock time
    ``local`` (no microseconds) in ``tz_name``, and whether its hour is regular
    (see :func:`regular_offset`: then ``local`` is also what the moment reads
    back as). A skipped or repeated time is read as standard time
    (``is_dst=False``)."""
    offset = regular_offset(tz_name, local.replace(minute=0, second=0))
    if offset is not None:
        return local - offset, True
    aware = zone(tz_name).localize(local, is_dst=False)
    return aware.astimezone(pytz.utc).replace(tzinfo=None), False


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
        utc = to_utc(local_datetime.replace(microsecond=0), tz_name)[0]
        return utc, tz_name, local_datetime.date(), local_datetime.strftime("%H:%M:%S")

    @api.model
    def _wall_clock(self, local_datetime, tz_name):
        """``(utc, local_date, local_time)`` of a naive wall-clock time in
        ``tz_name``, as stored: the moment as :meth:`_localize` reads it, and the
        local date and time read back from that moment, as
        :meth:`_compute_local_date_time` computes them (a time that a DST change
        skips becomes the time it turned into, e.g. 02:30 -> 03:30)."""
        local = local_datetime.replace(microsecond=0)
        utc, regular = to_utc(local, tz_name)
        if not regular:
            local = pytz.utc.localize(utc).astimezone(zone(tz_name))
        return utc, local.date(), local.strftime("%H:%M:%S")

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
