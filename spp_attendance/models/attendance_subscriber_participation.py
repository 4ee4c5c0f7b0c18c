from odoo import _, api, fields, models
from odoo.exceptions import UserError
from odoo.tools import SQL


def _ids(value):
    """Ids from a recordset, an id, a list of ids or None (None stays None)."""
    if value is None or value is False:
        return None
    if isinstance(value, models.BaseModel):
        return list(value.ids)
    if isinstance(value, int):
        return [value]
    return [int(v) for v in value]


class AttendanceSubscriberParticipation(models.Model):
    """Participation of subscribers over a period (issue #15, item 3).

    One set-based query (:meth:`_participation_query`) serves both the
    participation report (``spp.attendance.participation``, filled by one
    ``INSERT ... SELECT``) and other addons (:meth:`get_participation`).

    Counting rules:

    * only *active* attendance records count;
    * days are distinct local dates (``attendance_date``);
    * a day with both a present and an absent record (e.g. two sessions) is a
      **present** day: present wins for the day, so ``days_present +
      days_absent`` is the number of distinct days with records, and the rate is
      ``days_present / (days_present + days_absent)``. (The subscriber form's
      *Days Absent* counts every day with an absent record, so it may differ.)
    * ``last_seen`` is the latest present date on or before the end of the
      period, over *all* history (not only within the period), with the same
      type and location filters;
    * multi-company: only records and subscribers of the user's current
      companies (``self.env.companies``), as the record rules do.
    """

    _inherit = "spp.attendance.subscriber"

    @api.model
    def _participation_query(
        self,
        date_from,
        date_to,
        subscriber_ids=None,
        type_ids=None,
        location_ids=None,
        not_seen_days=None,
        reference_date=None,
    ):
        """The SQL returning ``(subscriber_id, company_id, days_present,
        days_absent, last_seen)`` rows.

        Population: the given ``subscriber_ids`` (each one row, zeros when no
        record); else, with ``not_seen_days``, every active subscriber whose
        ``last_seen`` is ``not_seen_days`` or more days before
        ``reference_date`` (or never); else the subscribers with at least one
        counted record in the period.
        """
        company_ids = self.env.companies.ids
        record_filter = [SQL("l.active"), SQL("l.company_id = ANY(%s)", company_ids)]
        if type_ids is not None:
            record_filter.append(SQL("l.attendance_type_id = ANY(%s)", type_ids))
        if location_ids is not None:
            record_filter.append(
                SQL("l.attendance_location_id = ANY(%s)", location_ids)
            )
        if subscriber_ids is not None:
            record_filter.append(SQL("l.subscriber_id = ANY(%s)", subscriber_ids))
            population = SQL(
                "SELECT s.id, s.company_id, p.* FROM spp_attendance_subscriber s"
                " LEFT JOIN period p ON p.subscriber_id = s.id"
                " WHERE s.id = ANY(%s) AND s.company_id = ANY(%s)",
                subscriber_ids,
                company_ids,
            )
        elif not_seen_days:
            population = SQL(
                "SELECT s.id, s.company_id, p.* FROM spp_attendance_subscriber s"
                " LEFT JOIN period p ON p.subscriber_id = s.id"
                " WHERE s.active AND s.company_id = ANY(%s)",
                company_ids,
            )
        else:
            population = SQL(
                "SELECT s.id, s.company_id, p.* FROM period p"
                " JOIN spp_attendance_subscriber s ON s.id = p.subscriber_id"
                " WHERE s.company_id = ANY(%s)",
                company_ids,
            )
        record_filter = SQL(" AND ").join(record_filter)
        where_not_seen = SQL("")
        if not_seen_days:
            where_not_seen = SQL(
                "WHERE COALESCE(pop.last_present, e.last_seen) IS NULL"
                " OR COALESCE(pop.last_present, e.last_seen) <= %s::date - %s",
                reference_date or date_to,
                int(not_seen_days),
            )
        # One aggregate per subscriber: a day with a present record is a
        # present day, so days absent = distinct days - distinct present days
        # (cheaper than grouping by subscriber and day first, then by
        # subscriber). ``period`` is referenced once, so PostgreSQL inlines it
        # and joins the subscribers with its real row estimate.
        return SQL(
            """
            WITH period AS (
                SELECT l.subscriber_id,
                       COUNT(DISTINCT l.attendance_date)
                           FILTER (WHERE l.attendance_category = 'present')
                           AS days_present,
                       COUNT(DISTINCT l.attendance_date) AS days_recorded,
                       MAX(l.attendance_date)
                           FILTER (WHERE l.attendance_category = 'present')
                           AS last_present
                  FROM spp_attendance_list l
                 WHERE %(filter)s AND l.attendance_date BETWEEN %(from)s AND %(to)s
              GROUP BY l.subscriber_id
            ), population AS (
                %(population)s
            ), earlier AS (
                -- last seen before the period, only for those not present in it
                SELECT l.subscriber_id, MAX(l.attendance_date) AS last_seen
                  FROM spp_attendance_list l
                 WHERE %(filter)s AND l.attendance_category = 'present'
                   AND l.attendance_date < %(from)s
                   AND l.subscriber_id IN (
                       SELECT pop.id FROM population pop
                        WHERE pop.last_present IS NULL)
              GROUP BY l.subscriber_id
            )
            SELECT pop.id AS subscriber_id, pop.company_id,
                   COALESCE(pop.days_present, 0) AS days_present,
                   COALESCE(pop.days_recorded - pop.days_present, 0) AS days_absent,
                   COALESCE(pop.last_present, e.last_seen) AS last_seen
              FROM population pop
         LEFT JOIN earlier e ON e.subscriber_id = pop.id
            %(not_seen)s
            """,
            filter=record_filter,
            population=population,
            not_seen=where_not_seen,
            **{"from": date_from, "to": date_to},
        )

    def unlink(self):
        # the report lines' table has no foreign key to cascade (see its model)
        self.env["spp.attendance.participation"].sudo()._delete_lines(
            "subscriber_id", self.ids
        )
        return super().unlink()

    @api.model
    def _participation_period(self, date_from, date_to):
        if not date_from or not date_to:
            raise UserError(_("A participation period needs a start and an end date."))
        date_from = fields.Date.to_date(date_from)
        date_to = fields.Date.to_date(date_to)
        if date_from > date_to:
            raise UserError(_("The period's start is after its end."))
        return date_from, date_to

    @api.model
    def get_participation(
        self, date_from, date_to, subscribers=None, type_ids=None, location_ids=None
    ):
        """Days present, days absent, attendance rate and last seen date of
        subscribers over a period, in **one** SQL query whatever their number
        (plus one for the access check of explicitly given subscribers).

        :param date_from: first local date of the period (``date`` or "YYYY-MM-DD")
        :param date_to: last local date of the period, included
        :param subscribers: ``spp.attendance.subscriber`` recordset or ids; each
            one is in the result (zeros when it has no record). ``None``: the
            subscribers with at least one active record in the period.
        :param type_ids: attendance type(s) (recordset, id or ids) to count only
        :param location_ids: attendance location(s) (recordset, id or ids) to
            count only
        :return: ``{subscriber_id: {"days_present": int, "days_absent": int,
            "rate": float | None, "last_seen": date | None}}`` where ``rate`` is
            ``days_present / (days_present + days_absent)`` (0.0 to 1.0; ``None``
            without any day) and ``last_seen`` the latest present date on or
            before ``date_to`` over all history. A day with both present and
            absent records counts as present. Only active records of the
            user's current companies count.
        :raises UserError: on a missing or reversed period
        :raises AccessError: if the user may not read the attendance records or
            one of the given subscribers
        """
        date_from, date_to = self._participation_period(date_from, date_to)
        self.check_access_rights("read")
        self.env["spp.attendance.list"].check_access_rights("read")
        subscriber_ids = _ids(subscribers)
        if subscriber_ids is not None:
            if not subscriber_ids:
                return {}
            self.browse(subscriber_ids).check_access_rule("read")
        self.env["spp.attendance.list"].flush_model()
        self.flush_model(["company_id", "active"])
        self.env.cr.execute(
            self._participation_query(
                date_from,
                date_to,
                subscriber_ids=subscriber_ids,
                type_ids=_ids(type_ids),
                location_ids=_ids(location_ids),
            )
        )
        result = {}
        for (
            subscriber_id,
            _company,
            present,
            absent,
            last_seen,
        ) in self.env.cr.fetchall():
            days = present + absent
            result[subscriber_id] = {
                "days_present": present,
                "days_absent": absent,
                "rate": present / days if days else None,
                "last_seen": last_seen,
            }
        return result
