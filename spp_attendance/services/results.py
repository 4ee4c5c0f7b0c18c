"""Typed inputs and results of the API services (no HTTP, no ORM)."""

from dataclasses import dataclass, field
from datetime import datetime

from .exceptions import ServiceError


@dataclass
class Submission:
    """Who submitted a batch, and when (naive UTC)."""

    submitted_by: str
    submitted_datetime: datetime
    submission_source: str = ""

    @classmethod
    def coerce(cls, value):
        if isinstance(value, cls):
            return value
        return cls(
            submitted_by=value["submitted_by"],
            submitted_datetime=value["submitted_datetime"],
            submission_source=value.get("submission_source") or "",
        )

    def vals(self):
        return {
            "submitted_by": self.submitted_by,
            "submitted_datetime": self.submitted_datetime,
            "submission_source": self.submission_source or False,
        }


@dataclass
class Card:
    """One time card to store (``POST /attendances``).

    ``moment`` is a naive *local* datetime (the wall clock of the place) or an
    aware one; ``path`` is where the card is in the request (used in messages).
    """

    person_id: str
    moment: datetime
    type_id: int | None = None
    location_id: int | None = None
    category: str = "present"
    description: str | None = None
    url: str | None = None
    uuid: str | None = None
    path: str = ""

    @classmethod
    def coerce(cls, value):
        if isinstance(value, cls):
            return value
        return cls(**{name: value[name] for name in value if name in _CARD_FIELDS})


_CARD_FIELDS = frozenset(Card.__dataclass_fields__)


class _WithError:
    """``reason`` and ``message`` of a result's ``error`` (``None`` without one)."""

    @property
    def reason(self):
        return self.error.reason if self.error else None

    @property
    def message(self):
        return self.error.message if self.error else None


@dataclass
class CardResult(_WithError):
    """The fate of one card: ``created``, ``unchanged`` (uuid retry),
    ``duplicate`` (skipped, ``ignore_unique``) or ``rejected`` (with ``error``)."""

    index: int
    person_id: str
    status: str | None = None
    id: int | None = None
    uuid: str | None = None
    error: ServiceError | None = None
    path: str | None = None

    def reject(self, error):
        self.status, self.id, self.error = "rejected", None, error

    def to_dict(self):
        """The JSON shape of a card's result (key order as the API always had)."""
        result = {
            "index": self.index,
            "person_id": self.person_id,
            "status": self.status,
            "id": self.id,
            "uuid": self.uuid,
        }
        if self.error is not None:
            result.update(reason=self.error.reason, message=self.error.message)
        if self.path is not None:
            result["path"] = self.path
        return result


@dataclass
class Change:
    """A partial update of one record (``PUT /attendances``): only the fields
    in ``values`` change (keys ``moment``, ``type_id``, ``location_id``,
    ``category``, ``description``, ``url``; a ``None`` type or location clears
    it)."""

    id: int
    values: dict = field(default_factory=dict)
    path: str = ""


@dataclass
class ChangeResult(_WithError):
    index: int
    id: int
    status: str = "updated"
    error: ServiceError | None = None

    def to_dict(self):
        result = {"index": self.index, "id": self.id, "status": self.status}
        if self.error is not None:
            result.update(reason=self.error.reason, message=self.error.message)
        return result


@dataclass
class ArchiveResult:
    archived_ids: list
    missing_ids: list


@dataclass
class Page:
    """A page of payloads; ``last`` is the keyset position of its last item
    (what a cursor encodes), ``has_more`` whether another page follows."""

    records: list
    total: int
    has_more: bool
    last: object = None


@dataclass
class PersonHistory:
    """A page of one person's history: ``payload`` has the API's keys;
    ``last`` is ``(UTC datetime string, id)`` of the page's last record."""

    payload: dict
    total: int
    has_more: bool
    last: tuple = (None, None)
