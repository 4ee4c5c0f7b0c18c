from collections import defaultdict

from odoo import _, api, models


class AttendanceSubscriberHistory(models.Model):
    """A subscriber's attendance: statistics, summaries, history pages."""

    _inherit = "spp.attendance.subscriber"  # pylint: disable=consider-merging-classes-inherited

    @api.depends(
        "attendance_list_ids.attendance_date",
        "attendance_list_ids.attendance_category",
        "attendance_list_ids.active",
    )
    def _compute_attendance_stats(self):
        """Counts for all subscribers in ``self`` with a single grouped query."""
        stats = defaultdict(dict)
        ids = [subscriber_id for subscriber_id in self._origin.ids if subscriber_id]
        if ids:
            groups = self.env["spp.attendance.list"]._read_group(
                [("subscriber_id", "in", ids)],
                ["subscriber_id", "attendance_category"],
                ["__count", "attendance_date:count_distinct", "attendance_date:max"],
            )
            for subscriber, category, count, days, last_date in groups:
                stats[subscriber.id][category] = (count, days, last_date)
        present_key = "present"
        for subscriber in self:
            values = stats.get(subscriber._origin.id, {})
            present = values.get(present_key, (0, 0, False))
            absent = values.get("absent", (0, 0, False))
            subscriber.attendance_count = present[0] + absent[0]
            subscriber.days_present_count = present[1]
            subscriber.days_absent_count = absent[1]
            subscriber.last_attendance_date = present[2]

    def get_attendance_summary(
        self,
        date_from=None,
        date_to=None,
        type_ids=None,
        location_ids=None,
        category=None,
        offset=0,
        limit=None,
        order=None,
    ):
        """Attendance summary and one page of history for this subscriber.

        This is the basis of the API's history endpoints and the entry point
        for other modules. The cost is constant: one grouped query for the
        counts and dates, one search for the page (plus the usual prefetch
        when the page's fields are read).

        :param date_from: first local date included (``date`` or "YYYY-MM-DD")
        :param date_to: last local date included; each bound applies on its own
        :param type_ids: attendance type id(s) or recordset to keep
        :param location_ids: attendance location id(s) or recordset to keep
        :param category: ``"present"`` or ``"absent"`` to keep only that category
        :param offset: number of records of the history to skip
        :param limit: page size (``None``: the whole history)
        :param order: order of the page, default newest first
        :return: dict with

            - ``subscriber``: this record; ``person_id``: its identifier
            - ``total``: number of matching records (both categories unless
              ``category`` is given)
            - ``dates_present``: sorted list of distinct local dates with a
              "present" record; ``number_of_days_present``: its length
            - ``dates_absent`` / ``number_of_days_absent``: same for "absent"
            - ``records``: the page, a ``spp.attendance.list`` recordset
        :raises UserError: on invalid filters (bad date, reversed range, unknown
            category)
        """
        self.ensure_one()
        summaries = self._get_attendance_summaries(
            date_from, date_to, type_ids, location_ids, category, with_records=False
        )
        summary = summaries[self.id]
        Attendance = self.env["spp.attendance.list"]
        domain = Attendance._history_domain(
            self, date_from, date_to, type_ids, location_ids, category
        )
        summary["records"] = Attendance.search(
            domain,
            offset=offset or 0,
            limit=limit,
            order=order or Attendance._order,
        )
        return summary

    def _get_attendance_summaries(
        self,
        date_from=None,
        date_to=None,
        type_ids=None,
        location_ids=None,
        category=None,
        with_records=True,
    ):
        """Summaries (see :meth:`get_attendance_summary`) for many subscribers.

        Returns ``{subscriber_id: summary}``; with ``with_records`` each
        summary's ``records`` is the full matching history (one search for all
        subscribers together).
        """
        Attendance = self.env["spp.attendance.list"]
        domain = Attendance._history_domain(
            self, date_from, date_to, type_ids, location_ids, category
        )
        groups = Attendance._read_group(
            domain,
            ["subscriber_id", "attendance_date:day", "attendance_category"],
            ["__count"],
        )
        summaries = self._summaries_from_counts(
            (subscriber.id, day, att_category, count)
            for subscriber, day, att_category, count in groups
        )
        if with_records and self:
            records = Attendance.search(domain)
            ids_by_subscriber = defaultdict(list)
            for record in records:
                ids_by_subscriber[record.subscriber_id.id].append(record.id)
            for subscriber_id, record_ids in ids_by_subscriber.items():
                # keep the prefetch set of the whole search: reading the types
                # and locations of one subscriber's records reads them for all
                # (one query each, not one per subscriber)
                summaries[subscriber_id]["records"] = records.browse(
                    record_ids
                ).with_prefetch(records._prefetch_ids)
        return summaries

    def _summaries_from_counts(self, counts):
        """``{subscriber_id: summary}`` (see :meth:`get_attendance_summary`,
        without ``records``) from ``(subscriber_id, local date, category, number
        of records)`` tuples: the one definition of days present and absent."""
        summaries = {
            subscriber.id: {
                "subscriber": subscriber,
                "person_id": subscriber.person_identifier,
                "total": 0,
                "dates_present": set(),
                "dates_absent": set(),
                "records": self.env["spp.attendance.list"],
            }
            for subscriber in self
        }
        for subscriber_id, day, att_category, count in counts:
            summary = summaries[subscriber_id]
            summary["total"] += count
            summary["dates_%s" % att_category].add(day)
        for summary in summaries.values():
            for key in ("present", "absent"):
                summary[f"dates_{key}"] = sorted(summary[f"dates_{key}"])
                summary[f"number_of_days_{key}"] = len(summary[f"dates_{key}"])
        return summaries

    def action_view_attendance(self):
        """Open the attendance records of this subscriber."""
        self.ensure_one()
        action = self.env["ir.actions.act_window"]._for_xml_id(
            "spp_attendance.action_attendance_list"
        )
        action["domain"] = [("subscriber_id", "=", self.id)]
        action["context"] = {"default_subscriber_id": self.id}
        action["display_name"] = _("Attendance of %s", self.name)
        return action
