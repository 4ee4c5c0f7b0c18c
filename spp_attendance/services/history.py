"""Attendance history for the API: one person's (paginated over records, by
offset or keyset) and many persons' (paginated over persons)."""

from collections import Counter, defaultdict

from odoo import _, fields

from .common import Service, select_rows
from .exceptions import Invalid, UnknownReference
from .results import Page, PersonHistory
from .subscribers import SubscriberService

#: What :func:`record_payload` reads of a record, selected with the search.
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
#: The columns of a record row (:meth:`HistoryService.record_rows`).
ROW_COLUMNS = ("id", "subscriber_id", *RECORD_FIELDS)


class References:
    """Names of the types and locations of a page, from the worker's copy
    (:meth:`~..models.attendance_type.AttendanceType._api_rows`): a page of any
    size reads them without a query."""

    def __init__(self, env):
        self.env = env
        self.rows = {
            model: env[model]._api_rows()
            for model in ("spp.attendance.type", "spp.attendance.location")
        }
        self.payloads = {}

    def named(self, model, id_):
        """``{"id", "name", "description"}`` of a type or location (``{}`` for
        none): one dict per reference and page, shared by its records (the
        payload is only read, when it is serialised)."""
        if not id_:
            return {}
        key = (model, id_)
        if key not in self.payloads:
            row = self.rows[model].get(id_)
            if row is None:  # not readable by this user: let the ORM say so
                record = self.env[model].browse(id_)
                row = (record.name, record.description)
            self.payloads[key] = {
                "id": id_,
                "name": row[0],
                "description": row[1] or False,
            }
        return self.payloads[key]


def record_payload(row, references):
    """The upstream JSON shape of an attendance record (a row of
    :meth:`HistoryService.record_rows`); dates stay ``date`` objects, which the
    serialiser writes as ``YYYY-MM-DD`` (see ``BUILT_TO_SHAPE``)."""
    submitted = row["submitted_datetime"]
    return {
        "id": row["id"],
        "uuid": row["uuid"] or None,
        "date": row["attendance_date"],
        "time": row["attendance_time"],
        "attendance_category": row["attendance_category"],
        "attendance_type": references.named(
            "spp.attendance.type", row["attendance_type_id"]
        ),
        "attendance_location": references.named(
            "spp.attendance.location", row["attendance_location_id"]
        ),
        "attendance_description": row["attendance_description"] or "",
        "attendance_external_url": row["attendance_external_url"] or "",
        "submitted_by": row["submitted_by"] or "",
        # as fields.Datetime.to_string writes it, without its strftime's cost
        "submitted_datetime": submitted.isoformat(" ", "seconds") if submitted else "",
        "submission_source": row["submission_source"] or "",
    }


def day_counts(rows):
    """``(subscriber id, local date, category, number of records)`` of record
    rows, for ``_summaries_from_counts``: the days present and absent of
    persons whose every matching record is among ``rows``."""
    counts = Counter(
        (row["subscriber_id"], row["attendance_date"], row["attendance_category"])
        for row in rows
    )
    return [(*key, count) for key, count in counts.items()]


def _summary_payload(subscriber, summary, rows, references):
    return {
        "person_id": subscriber.person_identifier,
        "dates_present": summary["dates_present"],
        "number_of_days_present": summary["number_of_days_present"],
        "attendance_list": [record_payload(row, references) for row in rows],
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
            if value and not self.env[model]._api_browse([value]):
                raise UnknownReference(f"{label} {value} does not exist.", field=name)
        return {
            "date_from": date_from,
            "date_to": date_to,
            "type_ids": [type_id] if type_id else None,
            "location_ids": [location_id] if location_id else None,
            "category": category.lower() if category else None,
        }

    def person(self, person_id, filters, offset=0, limit=30, after=None):
        """One page of the history of the subscriber with this identifier
        (most recent first).

        The subscriber is looked up by the records' query itself (a subquery,
        with its record rules): a page with records costs one query. Only an
        empty page looks the subscriber up on its own, to tell an unknown person
        from an empty history.

        :param filters: see :meth:`filters`
        :param after: keyset position ``{"t": "<UTC datetime>", "i": <id>}`` of
            the last record already seen; replaces ``offset`` when given
        :return: :class:`PersonHistory`
        :raise NotFound: when there is no such subscriber
        """
        Attendance = self.env["spp.attendance.list"]
        Subscriber = self.env["spp.attendance.subscriber"]
        person_id = (person_id or "").strip()
        subscribers = Subscriber._search(SubscriberService.identified(person_id))
        domain = Attendance._history_domain(subscribers, **filters)
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
        rows = self.record_rows(domain, offset=offset, limit=limit + 1)
        page = rows[:limit]
        if rows:
            subscriber = Subscriber.browse(rows[0]["subscriber_id"])
            # what the search matched, exactly: the identifier need not be read
            self.env.cache.set(
                subscriber, Subscriber._fields["person_identifier"], person_id
            )
        else:
            subscriber = SubscriberService(self.env).find(person_id)
        if after or offset or len(rows) > limit:
            summary = subscriber._get_attendance_summaries(
                with_records=False, **filters
            )[subscriber.id]
        else:
            # The first page holds the whole (filtered) history, as it does for
            # most persons: its rows give the days and the total, without the
            # aggregate query.
            summary = subscriber._summaries_from_counts(day_counts(rows))[subscriber.id]
        last = page[-1] if page else {"attendance_datetime": None, "id": None}
        return PersonHistory(
            payload=_summary_payload(subscriber, summary, page, References(self.env)),
            total=summary["total"],
            has_more=len(rows) > limit,
            last=(
                fields.Datetime.to_string(last["attendance_datetime"]) or None,
                last["id"],
            ),
        )

    def record_rows(self, domain, offset=0, limit=None):
        """The records matching ``domain`` (record rules applied, in the model's
        order) as dicts of ``ROW_COLUMNS``, read by one SELECT (``select_rows``)."""
        Attendance = self.env["spp.attendance.list"]
        rows = select_rows(
            Attendance,
            domain,
            ROW_COLUMNS,
            offset=offset,
            limit=limit,
            order=Attendance._order,
        )
        return [dict(zip(ROW_COLUMNS, row, strict=True)) for row in rows]

    def many(self, person_ids, filters, offset=0, limit=30, after_id=None, total=None):
        """Attendance of a page of subscribers (``GET /attendances``).

        Paginated over subscribers (by id); each person's ``attendance_list`` is
        complete, as upstream clients rely on. Constant number of queries.

        :return: :class:`Page` whose ``last`` is the last subscriber id
        """
        Subscriber = self.env["spp.attendance.subscriber"]
        domain = Subscriber._identifiers_domain(person_ids) if person_ids else []
        page, total, has_more = SubscriberService(self.env).search_page(
            domain, offset, limit, after_id, total
        )
        # every record of the page's persons is read: their days present and
        # absent are counted from those rows, not by a second query
        rows = []
        if page:
            domain = self.env["spp.attendance.list"]._history_domain(page, **filters)
            rows = self.record_rows(domain)
        rows_by_subscriber = defaultdict(list)
        for row in rows:
            rows_by_subscriber[row["subscriber_id"]].append(row)
        summaries = page._summaries_from_counts(day_counts(rows))
        references = References(self.env)
        return Page(
            records=[
                _summary_payload(
                    subscriber,
                    summaries[subscriber.id],
                    rows_by_subscriber[subscriber.id],
                    references,
                )
                for subscriber in page
            ],
            total=total,
            has_more=has_more,
            last=page[-1:].id if page else None,
        )
