"""Attendance history for the API: one person's (paginated over records, by
offset or keyset) and many persons' (paginated over persons)."""

from odoo import _, fields

from .common import Service
from .exceptions import Invalid, UnknownReference
from .results import Page, PersonHistory
from .subscribers import SubscriberService

#: What :func:`record_payload` reads of a record, fetched with the search.
RECORD_FIELDS = (
    "uuid",
    "attendance_date",
    "attendance_time",
    "attendance_datetime",
    "attendance_category",
    "attendance_type_id",
    "attendance_location_id",
    "attendance_description",
    "attendance_external_url",
    "submitted_by",
    "submitted_datetime",
    "submission_source",
)


def record_payload(record):
    """The upstream JSON shape of an attendance record."""
    record.ensure_one()

    def named(related):
        if not related:
            return {}
        return {
            "id": related.id,
            "name": related.name,
            "description": related.description or False,
        }

    return {
        "id": record.id,
        "uuid": record.uuid or None,
        "date": fields.Date.to_string(record.attendance_date),
        "time": record.attendance_time,
        "attendance_category": record.attendance_category,
        "attendance_type": named(record.attendance_type_id),
        "attendance_location": named(record.attendance_location_id),
        "attendance_description": record.attendance_description or "",
        "attendance_external_url": record.attendance_external_url or "",
        "submitted_by": record.submitted_by or "",
        "submitted_datetime": fields.Datetime.to_string(record.submitted_datetime)
        or "",
        "submission_source": record.submission_source or "",
    }


def cache_references(records):
    """Put the records' types and locations in the record cache from the worker's
    copy (:meth:`~.attendance_type.AttendanceType._api_browse`): the payload reads
    their names without a query."""
    env = records.env
    env["spp.attendance.type"]._api_browse(records.attendance_type_id.ids)
    env["spp.attendance.location"]._api_browse(records.attendance_location_id.ids)


def _summary_payload(subscriber, summary, records):
    return {
        "person_id": subscriber.person_identifier,
        "dates_present": [fields.Date.to_string(d) for d in summary["dates_present"]],
        "number_of_days_present": summary["number_of_days_present"],
        "attendance_list": [record_payload(record) for record in records],
    }


class HistoryService(Service):
    def filters(
        self,
        date_from=None,
        date_to=None,
        type_id=None,
        location_id=None,
        category=None,
    ):
        """The filters of the history queries, in the models' terms (keyword
        arguments of ``get_attendance_summary`` and ``_history_domain``).

        :raise UnknownReference: a type or location that does not exist (its
            ``field`` is the parameter's name)
        """
        for model, value, name, label in (
            ("spp.attendance.type", type_id, "attendance_type", "Attendance Type"),
            (
                "spp.attendance.location",
                location_id,
                "attendance_location",
                "Attendance Location",
            ),
        ):
            if value and not self.env[model].browse(value).exists():
                raise UnknownReference(f"{label} {value} does not exist.", field=name)
        return {
            "date_from": date_from,
            "date_to": date_to,
            "type_ids": [type_id] if type_id else None,
            "location_ids": [location_id] if location_id else None,
            "category": category.lower() if category else None,
        }

    def person(self, subscriber, filters, offset=0, limit=30, after=None):
        """One page of a subscriber's history (most recent first).

        :param filters: see :meth:`filters`
        :param after: keyset position ``{"t": "<UTC datetime>", "i": <id>}`` of
            the last record already seen; replaces ``offset`` when given
        :return: :class:`PersonHistory`
        """
        subscriber.ensure_one()
        summary = subscriber._get_attendance_summaries(with_records=False, **filters)[
            subscriber.id
        ]
        Attendance = self.env["spp.attendance.list"]
        domain = Attendance._history_domain(subscriber, **filters)
        if after:
            try:
                moment = fields.Datetime.to_datetime(after["t"])
                last_id = int(after["i"])
            except (TypeError, ValueError, OverflowError) as exc:
                raise Invalid(_("The cursor is invalid.")) from exc
            domain += [
                "|",
                ("attendance_datetime", "<", moment),
                "&",
                ("attendance_datetime", "=", moment),
                ("id", "<", last_id),
            ]
            offset = 0
        records = Attendance.search_fetch(
            domain, RECORD_FIELDS, offset=offset, limit=limit + 1
        )
        page = records[:limit]
        cache_references(page)
        last = page[-1:] if page else page
        return PersonHistory(
            payload=_summary_payload(subscriber, summary, page),
            total=summary["total"],
            has_more=len(records) > limit,
            last=(
                fields.Datetime.to_string(last.attendance_datetime) if last else None,
                last.id if last else None,
            ),
        )

    def many(self, person_ids, filters, offset=0, limit=30, after_id=None, total=None):
        """Attendance of a page of subscribers (``GET /attendances``).

        Paginated over subscribers (by id); each person's ``attendance_list`` is
        complete, as upstream clients rely on. Constant number of queries.

        :return: :class:`Page` whose ``last`` is the last subscriber id
        """
        domain = [("person_identifier", "in", person_ids)] if person_ids else []
        page, total, has_more = SubscriberService(self.env).search_page(
            domain, offset, limit, after_id, total
        )
        summaries = page._get_attendance_summaries(with_records=True, **filters)
        cache_references(
            self.env["spp.attendance.list"].union(
                *(summary["records"] for summary in summaries.values())
            )
        )
        return Page(
            records=[
                _summary_payload(
                    subscriber,
                    summaries[subscriber.id],
                    summaries[subscriber.id]["records"],
                )
                for subscriber in page
            ],
            total=total,
            has_more=has_more,
            last=page[-1:].id if page else None,
        )
