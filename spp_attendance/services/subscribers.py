"""Subscribers for the API: lookup, the JSON shape, pages ordered by id."""

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


def subscriber_payload(subscriber):
    """The upstream JSON shape of a subscriber (empty values are ``false``)."""
    subscriber.ensure_one()
    return {
        "id": subscriber.id,
        "person_id": subscriber.person_identifier,
        "name": subscriber.name or False,
        "family_name": subscriber.family_name or False,
        "given_name": subscriber.given_name or False,
        "email": subscriber.email or False,
        "phone": subscriber.phone or False,
        "mobile": subscriber.mobile or False,
    }


class SubscriberService(Service):
    @property
    def Subscriber(self):
        return self.env["spp.attendance.subscriber"]

    def find(self, person_id, fields=("person_identifier",)):
        """The active subscriber with this identifier in the current companies,
        with ``fields`` read by the same query.

        :raise NotFound: when there is none
        """
        subscriber = self.Subscriber.search_fetch(
            [("person_identifier", "=", (person_id or "").strip())], fields, limit=1
        )
        if not subscriber:
            message = f"PersonID {person_id} does not exist."
            raise NotFound(message, field="person_id")
        return subscriber

    def info(self, person_id):
        """``GET /subscriber/<person_id>``."""
        return subscriber_payload(self.find(person_id, PAYLOAD_FIELDS))

    def search_page(self, domain, offset, limit, after_id, total=None):
        """Subscribers ordered by id, by offset or after an id (cursor):
        ``(page, total, has_more)``; counted only when ``total`` is ``None``."""
        if total is None:
            total = self.Subscriber.search_count(domain)
        if after_id is not None:
            domain = [*domain, ("id", ">", after_id)]
            offset = 0
        records = self.Subscriber.search_fetch(
            domain, PAYLOAD_FIELDS, order="id", offset=offset, limit=limit + 1
        )
        return records[:limit], total, len(records) > limit

    def page(self, offset=0, limit=30, after_id=None, total=None):
        """``GET /subscribers``: a :class:`Page` whose ``last`` is the last id."""
        page, total, has_more = self.search_page([], offset, limit, after_id, total)
        return Page(
            records=[subscriber_payload(subscriber) for subscriber in page],
            total=total,
            has_more=has_more,
            last=page[-1:].id if page else None,
        )
