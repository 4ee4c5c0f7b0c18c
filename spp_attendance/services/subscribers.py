"""Subscribers for the API: lookup, the JSON shape, pages ordered by id."""

from odoo.tools import SQL

from .common import Service
from .exceptions import NotFound
from .results import Page

#: The subscriber's own columns in the payload (the others are the partner's).
PAYLOAD_FIELDS = (
    "person_identifier",
    "name",
    "family_name",
    "given_name",
    "partner_id",
)
#: The columns of a payload row: (table, column) of the subscriber ("s") or of its
#: contact ("p"), read by :meth:`SubscriberService.page` in one SELECT.
ROW_COLUMNS = (
    ("s", "id"),
    ("s", "person_identifier"),
    ("p", "name"),
    ("s", "family_name"),
    ("s", "given_name"),
    ("p", "email"),
    ("p", "phone"),
    ("p", "mobile"),
)


def subscriber_payload(values):
    """The upstream JSON shape of a subscriber (empty values are ``false``), from
    a record or a row of ``ROW_COLUMNS``."""
    return {
        "id": values["id"],
        "person_id": values["person_identifier"],
        "name": values["name"] or False,
        "family_name": values["family_name"] or False,
        "given_name": values["given_name"] or False,
        "email": values["email"] or False,
        "phone": values["phone"] or False,
        "mobile": values["mobile"] or False,
    }


class SubscriberService(Service):
    @property
    def Subscriber(self):
        return self.env["spp.attendance.subscriber"]

    @staticmethod
    def identified(person_id):
        """The domain of the subscriber with this identifier (surrounding spaces
        ignored)."""
        return [("person_identifier", "=", (person_id or "").strip())]

    def find(self, person_id, fields=("person_identifier",)):
        """The active subscriber with this identifier in the current companies,
        with ``fields`` read by the same query.

        :raise NotFound: when there is none
        """
        subscriber = self.Subscriber.search_fetch(
            self.identified(person_id), fields, limit=1
        )
        if not subscriber:
            message = f"PersonID {person_id} does not exist."
            raise NotFound(message, field="person_id")
        return subscriber

    def info(self, person_id):
        """``GET /subscriber/<person_id>``."""
        subscriber = self.find(person_id, PAYLOAD_FIELDS)
        return subscriber_payload(
            {column: subscriber[column] for _table, column in ROW_COLUMNS}
        )

    def _window(self, domain, offset, after_id, total):
        """``(domain, offset, total)`` of a page by offset or after an id
        (cursor); the subscribers are counted only when ``total`` is ``None``."""
        if total is None:
            total = self.Subscriber.search_count(domain)
        if after_id is not None:
            domain, offset = [*domain, ("id", ">", after_id)], 0
        return domain, offset, total

    def search_page(self, domain, offset, limit, after_id, total=None):
        """Subscribers ordered by id, by offset or after an id (cursor), with
        their identifier read: ``(page, total, has_more)``."""
        domain, offset, total = self._window(domain, offset, after_id, total)
        records = self.Subscriber.search_fetch(
            domain, ["person_identifier"], order="id", offset=offset, limit=limit + 1
        )
        return records[:limit], total, len(records) > limit

    def page(self, offset=0, limit=30, after_id=None, total=None):
        """``GET /subscribers``: a :class:`Page` whose ``last`` is the last id.

        The page is read in one SELECT of the subscribers and their contacts
        (record rules applied by ``_search``): a read-only JSON page needs no ORM
        record, and the contact's row would otherwise be read whole.
        """
        Subscriber = self.Subscriber
        domain, offset, total = self._window([], offset, after_id, total)
        Subscriber.check_access_rights("read")
        self.env["res.partner"].check_access_rights("read")
        self.env.flush_all()
        query = Subscriber._search(domain, offset=offset, limit=limit + 1, order="id")
        aliases = {
            "s": Subscriber._table,
            "p": query.left_join(
                Subscriber._table, "partner_id", "res_partner", "id", "partner_id"
            ),
        }
        columns = [SQL.identifier(aliases[table], name) for table, name in ROW_COLUMNS]
        self.env.cr.execute(query.select(*columns))
        names = [column for _table, column in ROW_COLUMNS]
        rows = [dict(zip(names, row, strict=True)) for row in self.env.cr.fetchall()]
        page = rows[:limit]
        return Page(
            records=[subscriber_payload(row) for row in page],
            total=total,
            has_more=len(rows) > limit,
            last=page[-1]["id"] if page else None,
        )
