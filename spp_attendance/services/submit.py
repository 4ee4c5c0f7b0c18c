"""``POST /attendances``: store a batch of time cards, set-based.

A constant number of queries whatever the number of cards: persons, types,
locations, uuids and duplicate keys are each looked up once, the records created
in one batch.
"""

from dataclasses import dataclass, field

import pytz

from odoo import _, models
from odoo.exceptions import UserError, ValidationError
from odoo.tools import SQL

from .common import (
    ReferenceChecks,
    at,
    column_arrays,
    is_web_url,
    names_sql,
    select_rows,
)
from .exceptions import (
    BatchRejected,
    DuplicateRecord,
    Invalid,
    NotStored,
    UnknownReference,
    UuidConflict,
)
from .results import Card, CardResult, Submission

#: The fields that make two records with the same uuid "the same card".
FINGERPRINT = (
    "subscriber_id",
    "attendance_datetime",
    "attendance_category",
    "attendance_type_id",
    "attendance_location_id",
    "attendance_description",
    "attendance_external_url",
)
#: The columns :meth:`SubmitService._insert` writes from a card.
INSERT_COLUMNS = (
    "subscriber_id",
    "company_id",
    "attendance_category",
    "attendance_type_id",
    "attendance_location_id",
    "attendance_description",
    "attendance_external_url",
    "attendance_datetime",
    "attendance_tz",
    "attendance_date",
    "attendance_time",
    "submitted_by",
    "submitted_datetime",
    "submission_source",
    "uuid",
    "api_client_id",
    "duplicate_key",
)
#: Inserted columns that the checks after the INSERT read in Python (the URL
#: constraint), put in the record cache from the inserted values.
CACHED_AFTER_INSERT = ("attendance_external_url",)
#: How many times a batch is classified again after losing a race.
ATTEMPTS = 3


def fingerprint(values):
    def norm(value):
        if isinstance(value, models.BaseModel):
            value = value.id
        return value or False

    return tuple(norm(values.get(fname)) for fname in FINGERPRINT)


@dataclass
class _Item:
    """A card on its way to the database."""

    index: int
    card: Card
    result: CardResult
    status: str = "create"
    vals: dict = field(default_factory=dict)
    key: str | bool = False
    fingerprint: tuple | None = None
    same_as: int | None = None
    computed: dict = field(default_factory=dict)
    stored_uuid: dict | None = None
    stored_key: dict | None = None


class SubmitService(ReferenceChecks):
    """Store time cards; one :class:`CardResult` per card, in order."""

    @property
    def Attendance(self):
        return self.env["spp.attendance.list"]

    def submit(self, cards, submission, client=None, ignore_unique=False, atomic=True):
        """Store ``cards`` (:class:`Card` or dicts with the same keys).

        :param submission: :class:`Submission` (or a dict with its keys)
        :param client: the ``spp.attendance.api.client.credential`` submitting
        :param ignore_unique: report duplicates as ``duplicate`` instead of
            rejecting them
        :param atomic: store nothing when a card is rejected; the rejection is
            then raised as :class:`BatchRejected` (with every card's result)
        :return: list of :class:`CardResult`
        """
        cards = [Card.coerce(card) for card in cards]
        submission = Submission.coerce(submission)
        results = [
            CardResult(index=index, person_id=card.person_id, uuid=card.uuid or None)
            for index, card in enumerate(cards)
        ]
        items = self._prepare(cards, submission, client, results)
        for _attempt in range(ATTEMPTS):
            self._classify(items, ignore_unique)
            rejected = any(result.status == "rejected" for result in results)
            if rejected and atomic:
                for result in results:
                    if result.status != "rejected":
                        result.reject(
                            NotStored(
                                _(
                                    "Not stored: another card of this request was "
                                    "rejected and the request is atomic."
                                )
                            )
                        )
                raise BatchRejected(results)
            to_create = [item for item in items if item.status == "create"]
            try:
                with self.Attendance._translate_unique_violations():
                    records = self._insert(to_create)
            except ValidationError:
                # A concurrent request committed the same uuid or duplicate key
                # after this transaction's snapshot: classify again against what
                # is committed now.
                if not self._load_committed(items):
                    raise
                continue
            for item, record in zip(to_create, records, strict=True):
                item.result.status, item.result.id = "created", record.id
            break
        else:
            raise UserError(_("The attendance records changed concurrently; retry."))
        for item in items:
            if item.same_as is not None and not item.result.id:
                item.result.id = results[item.same_as].id
        return results

    # -- storing -----------------------------------------------------------------

    def _insert(self, items):
        """Insert the items' records in one statement; return them.

        The set-based path of API batches: ``create()`` would compute the same
        stored values again through one ``new()`` record per card, which is most
        of a large batch's time. What ``create()`` guarantees still holds: access
        rights and record rules (checked as it does), the stored computed fields
        (computed by :meth:`_prepare` with the model's own methods; a test compares
        them with ``create()``'s), the audit columns, the constraints (the
        database's, and the model's Python constraints on the new records), no
        creation message (as ``create()`` skips it too).
        """
        Attendance = self.Attendance
        Attendance.check_access_rights("create")
        if not items:
            return Attendance
        self.env.flush_all()
        rows = [{**item.vals, **item.computed} for item in items]
        # the transaction's start, as cr.now() gives it, without its own query
        now, uid = SQL("(now() AT TIME ZONE 'UTC')"), self.env.uid
        self.env.cr.execute(
            SQL(
                """
                INSERT INTO %s (%s, active, create_uid, write_uid, create_date,
                                write_date)
                SELECT %s, true, %s, %s, %s, %s
                  FROM unnest(%s) WITH ORDINALITY AS card(%s, ordinality)
                 ORDER BY ordinality
                RETURNING id
                """,
                SQL.identifier(Attendance._table),
                names_sql(INSERT_COLUMNS),
                names_sql(INSERT_COLUMNS),
                uid,
                uid,
                now,
                now,
                column_arrays(Attendance, INSERT_COLUMNS, rows),
                names_sql(INSERT_COLUMNS),
            )
        )
        records = Attendance.browse(row[0] for row in self.env.cr.fetchall())
        # What the checks below read is known: put it in the record cache
        # rather than reading the rows back.
        for fname in CACHED_AFTER_INSERT:
            self.env.cache.update(
                records,
                Attendance._fields[fname],
                [row.get(fname) or None for row in rows],
            )
        if any(item.vals["attendance_external_url"] for item in items):
            records._validate_fields(["attendance_external_url"])
        # check_access_rule() evaluates the rules in Python, record by record
        # (8 % of a 1,000-card batch); Odoo's SQL alternative, which it names
        # for large sets, is one query whatever the batch size.
        forbidden = records - records._filter_access_rules("create")
        if forbidden:
            raise self.env["ir.rule"]._make_access_error("create", forbidden)
        return records

    # -- preparation -------------------------------------------------------------

    def _prepare(self, cards, submission, client, results):
        """Resolve persons, types and locations (one query each), localise the
        moments and build the values of every card; rejections go to the
        results."""
        Attendance = self.Attendance
        subscribers = self._subscribers({card.person_id for card in cards})
        types = self.active_records(
            "spp.attendance.type", [c.type_id for c in cards if c.type_id]
        )
        locations = self.active_records(
            "spp.attendance.location", [c.location_id for c in cards if c.location_id]
        )
        flags = Attendance._get_uniqueness_flags()
        common = dict(submission.vals(), api_client_id=client.id if client else False)
        items = []
        for index, card in enumerate(cards):
            item = _Item(index=index, card=card, result=results[index])
            items.append(item)
            problem = self._problem(card, subscribers, types, locations)
            if problem:
                item.status = "rejected"
                item.result.reject(problem)
                continue
            subscriber_id, company_id = subscribers[card.person_id]
            tz_name = self.tz_name(card.location_id, company_id)
            if card.moment.tzinfo is None:
                utc, local_date, local_time = Attendance._wall_clock(
                    card.moment, tz_name
                )
            else:
                utc = card.moment.astimezone(pytz.utc).replace(
                    tzinfo=None, microsecond=0
                )
                local = pytz.utc.localize(utc).astimezone(Attendance._zone(tz_name))
                local_date, local_time = local.date(), local.strftime("%H:%M:%S")
            item.vals = {
                "subscriber_id": subscriber_id,
                "attendance_datetime": utc,
                "attendance_category": card.category,
                "attendance_type_id": card.type_id or False,
                "attendance_location_id": card.location_id or False,
                "attendance_description": card.description or False,
                "attendance_external_url": card.url or False,
                "uuid": card.uuid or False,
                **common,
            }
            item.key = Attendance._make_duplicate_key(
                flags,
                subscriber_id,
                local_date,
                local_time,
                item.vals["attendance_type_id"],
                item.vals["attendance_location_id"],
            )
            item.result.uuid = item.vals["uuid"] or None
            # the stored computed fields, as the model computes them (see _insert)
            item.computed = {
                "company_id": company_id,
                "attendance_tz": tz_name,
                "attendance_date": local_date,
                "attendance_time": local_time,
                "duplicate_key": item.key or None,
            }
        self._index_rows(items, self._fetch_stored(self.env.cr, items))
        return items

    def _subscribers(self, person_ids):
        """``{person identifier: (subscriber id, company id)}`` of the active
        subscribers with these identifiers that the user may read, by one
        SELECT (record rules applied by ``_search``): the batch needs two
        numbers per person, not a record each."""
        Subscriber = self.env["spp.attendance.subscriber"]
        rows = select_rows(
            Subscriber,
            Subscriber._identifiers_domain(person_ids),
            ("person_identifier", "id", "company_id"),
        )
        return {row[0]: row[1:] for row in rows}

    def _problem(self, card, subscribers, types, locations):
        """The error that keeps a card from being stored, else ``None``.

        Normalises ``card.uuid`` on the way.
        """
        path = card.path
        if card.person_id not in subscribers:
            return UnknownReference(
                at(
                    path,
                    _(
                        "person_id %(person)s does not exist.",
                        person=card.person_id,
                    ),
                ),
                field=path,
                reason="unknown_person",
            )
        if card.type_id and card.type_id not in types:
            return self.unknown_type(path, card.type_id)
        if card.location_id and card.location_id not in locations:
            return self.unknown_location(path, card.location_id)
        if card.uuid:
            try:
                card.uuid = self.Attendance._normalize_uuid(card.uuid)
            except ValidationError as exc:
                return Invalid(at(path, exc.args[0]), field=path, reason="invalid_uuid")
        if card.url and not is_web_url(card.url):
            return self.invalid_url(path)
        return None

    # -- what is stored already ---------------------------------------------------

    def _fetch_stored(self, cr, items):
        """Stored rows sharing a uuid or a duplicate key with the items (one
        query)."""
        live = [item for item in items if item.status != "rejected"]
        uuids = [item.vals["uuid"] for item in live if item.vals["uuid"]]
        keys = [item.key for item in live if item.key]
        if not uuids and not keys:  # cards without uuid and no uniqueness rule
            return []
        # Plain SQL (no record rules): a uuid counts in the environment's
        # companies only (unique per company); a duplicate key names its
        # subscriber, hence its company, already.
        cr.execute(
            "SELECT id, uuid, duplicate_key, %s FROM spp_attendance_list "
            "WHERE (uuid = ANY(%%s) AND company_id = ANY(%%s)) "
            "OR duplicate_key = ANY(%%s)" % ", ".join(FINGERPRINT),
            [uuids, self.env.companies.ids, keys],
        )
        return cr.dictfetchall()

    def _load_committed(self, items):
        """Index what other transactions have committed since this one started
        (a new cursor). True if anything was found."""
        with self.env.registry.cursor() as cr:
            rows = self._fetch_stored(cr, items)
        self._index_rows(items, rows)
        return bool(rows)

    def _index_rows(self, items, rows):
        by_uuid = {row["uuid"]: row for row in rows if row["uuid"]}
        by_key = {row["duplicate_key"]: row for row in rows if row["duplicate_key"]}
        for item in items:
            if item.status == "rejected":
                continue
            item.stored_uuid = by_uuid.get(item.vals["uuid"])
            item.stored_key = by_key.get(item.key)

    # -- classification -------------------------------------------------------------

    def _classify(self, items, ignore_unique):
        """Decide each card's fate: ``create``, ``unchanged`` (uuid retry),
        ``duplicate`` or ``rejected``; duplicates inside the request count."""
        Attendance = self.Attendance
        seen_uuids, seen_keys = {}, {}
        for item in items:
            result = item.result
            if item.status == "rejected" and not isinstance(
                result.error, DuplicateRecord | UuidConflict
            ):
                continue
            item.status, item.same_as = "create", None
            result.status, result.id, result.error = None, None, None
            vals, key, path = item.vals, item.key, item.card.path
            print_ = fingerprint(vals)
            uuid = vals["uuid"]
            stored = item.stored_uuid
            if uuid and (stored or uuid in seen_uuids):
                same = (
                    fingerprint(stored) == print_
                    if stored
                    else items[seen_uuids[uuid]].fingerprint == print_
                )
                if same:
                    item.status = "unchanged"
                    item.same_as = None if stored else seen_uuids[uuid]
                    result.status = "unchanged"
                    result.id = stored["id"] if stored else None
                else:
                    item.status = "rejected"
                    result.reject(
                        UuidConflict(
                            at(
                                path,
                                _(
                                    "uuid %(uuid)s was already used for a "
                                    "different attendance record.",
                                    uuid=uuid,
                                ),
                            ),
                            uuid=uuid,
                            field=path,
                        )
                    )
                continue
            stored = item.stored_key
            if key and (stored or key in seen_keys):
                if ignore_unique:
                    item.status = "duplicate"
                    item.same_as = None if stored else seen_keys[key]
                    result.status = "duplicate"
                    result.id = stored["id"] if stored else None
                else:
                    item.status = "rejected"
                    existing_id = stored["id"] if stored else None
                    result.reject(
                        DuplicateRecord(
                            at(
                                path,
                                Attendance._describe_duplicate_key(
                                    key, existing_id=existing_id, in_batch=not stored
                                ),
                            ),
                            key=key,
                            existing_id=existing_id,
                            field=path,
                        )
                    )
                continue
            item.fingerprint = print_
            if uuid:
                seen_uuids[uuid] = item.index
            if key:
                seen_keys[key] = item.index
