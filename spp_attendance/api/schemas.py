"""The attendance API contract: every request body, query string and response, as
Pydantic models, declared once.

The routes (``spp_attendance/controllers/attendance_api.py``) name these models in
their declarations: requests are validated against them (:mod:`.validation`),
responses are serialised through them, and the served OpenAPI 3.1 document is
generated from them (:mod:`.openapi`), so the document cannot drift from what the
code accepts and answers.
"""

import datetime as dt
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from .types import (
    CATEGORY_PATTERN,
    MAX_ID,
    MAX_SHORT,
    Category,
    ClientUuid,
    DateTimeText,
    OptionalId,
    PersonId,
    QueryBool,
    QueryDate,
    QueryInt,
    QueryText,
    RecordId,
    Refusal,
    ShortText,
    SubmittedBy,
    Text,
    Url,
)

#: Largest ``limit`` of a list route; more is refused with 400.
MAX_LIMIT = 500
DEFAULT_LIMIT = 30
#: Most time cards in one POST/PUT, and most ids in one DELETE.
MAX_BATCH = 1000
#: Request bodies over this size are refused with 413 (bytes).
MAX_BODY_SIZE = 4 * 1024 * 1024


class Request(BaseModel):
    """A request: strict types, unknown keys ignored (as upstream did)."""

    # Python's re, as the former JSON Schema validation used: "$" also matches
    # before a final newline, which existing clients may send after a date.
    model_config = ConfigDict(strict=True, extra="ignore", regex_engine="python-re")


class Response(BaseModel):
    """A response: serialised with exactly the keys the service gave."""

    model_config = ConfigDict(extra="ignore")


# -- request bodies -------------------------------------------------------------------


class TimeCardChanges(Request):
    """The fields to change; absent fields keep their value."""

    date_time: DateTimeText = None
    attendance_type: OptionalId = None
    attendance_location: OptionalId = None
    attendance_category: Category = None
    attendance_description: Text = None
    attendance_external_url: Url = None


class TimeCard(TimeCardChanges):
    """One time card of a person."""

    date_time: DateTimeText
    uuid: ClientUuid = None


class PersonCards(Request):
    person_id: PersonId
    time_card: list[TimeCard] = Field(min_length=1, max_length=MAX_BATCH)


class Submission(Request):
    submitted_by: SubmittedBy
    submitted_datetime: DateTimeText = Field(
        description="When the client submitted the data (same formats as "
        "date_time; a naive value is read as UTC)."
    )
    submission_source: ShortText = None


class SubmitBody(Submission):
    records: list[PersonCards] = Field(min_length=1, max_length=MAX_BATCH)

    @model_validator(mode="after")
    def _check_card_count(self):
        if sum(len(record.time_card) for record in self.records) > MAX_BATCH:
            raise Refusal(
                "too_long",
                f"At most {MAX_BATCH} time cards can be sent at once.",
                "Split the request.",
                path="records",
            )
        return self


class RecordChanges(Request):
    id: RecordId
    time_card: TimeCardChanges


class UpdateBody(Submission):
    records: list[RecordChanges] = Field(min_length=1, max_length=MAX_BATCH)


class PersonIdsBody(Request):
    """Upstream clients send this JSON body on GET /attendances; the ``person_ids``
    query parameter is the standard alternative."""

    person_ids: list[PersonId] | None = Field(None, max_length=MAX_LIMIT)


# -- query strings --------------------------------------------------------------------
# Parameters are read in the order declared; the first bad one is reported.


class PageQuery(Request):
    page: QueryInt(1, 10**6) = 1
    limit: QueryInt(1, MAX_LIMIT) = DEFAULT_LIMIT
    cursor: QueryText(max_length=200) = None


LastId = QueryInt(0, MAX_ID, "Upstream V19 cursor: only rows with a larger id.")


class HistoryQuery(PageQuery):
    from_date: QueryDate = None
    to_date: QueryDate = None
    attendance_type: QueryInt(0, MAX_ID) = None
    attendance_location: QueryInt(0, MAX_ID) = None
    attendance_category: QueryText(pattern=CATEGORY_PATTERN) = None

    @model_validator(mode="after")
    def _check_dates(self):
        if self.from_date and self.to_date and self.from_date > self.to_date:
            raise Refusal(
                "range",
                "from_date must be less than or equal to to_date.",
                "from_date is after to_date.",
                path="query/from_date",
            )
        return self


class PersonIdQuery(Request):
    person_id: QueryText(min_length=1, max_length=MAX_SHORT)


# Bases listed last come first: person_id is read before the page parameters.
class PersonHistoryQuery(HistoryQuery, PersonIdQuery):
    pass


class AttendancesQuery(HistoryQuery):
    # Percent-encoded, 4,000 characters fit the HTTP server's 64 KiB request line
    # whatever they are; longer lists go in a JSON body.
    person_ids: QueryText("Comma-separated person identifiers.", max_length=4_000) = (
        None
    )
    last_id: LastId = None


class SubscribersQuery(PageQuery):
    last_id: LastId = None


class SubmitQuery(Request):
    ignore_unique: QueryBool = Field(
        False,
        description="true/1/yes: skip duplicates (reported as `duplicate`) instead "
        "of failing.",
    )
    atomic: QueryBool = Field(
        True,
        description="false/0/no: store every valid card and report the others "
        "(status 207 when some were rejected).",
    )


class DeleteQuery(Request):
    ids: QueryText(
        "Comma-separated ids of the records to remove.",
        max_length=20_000,
        pattern=r"^[0-9, ]*$",
    ) = None


# -- responses ------------------------------------------------------------------------


class NamedRef(Response):
    """A type or location; {} when not set."""

    id: int = None
    name: str = None
    description: str | bool = None


class AttendanceItem(Response):
    id: int
    uuid: str | None = None
    date: dt.date
    time: str = Field(pattern=r"^[0-9]{2}:[0-9]{2}:[0-9]{2}$")
    attendance_category: Literal["present", "absent"]
    attendance_type: NamedRef = None
    attendance_location: NamedRef = None
    attendance_description: str = None
    attendance_external_url: str = None
    submitted_by: str = None
    submitted_datetime: str = None
    submission_source: str = None


class Pagination(Response):
    page: int
    limit: int
    total_records: int
    total_pages: int


NextCursor = Field(
    None, description="Pass as `cursor` to get the next page; null on the last page."
)


class PersonAttendance(Response):
    person_id: str
    dates_present: list[dt.date] = Field(
        description="Distinct dates with a present record, ascending."
    )
    number_of_days_present: int
    attendance_list: list[AttendanceItem]


class PersonHistory(PersonAttendance):
    pagination: Pagination
    next_cursor: str | None = NextCursor


class PersonsAttendance(Response):
    records: list[PersonAttendance]
    pagination: Pagination
    next_cursor: str | None = NextCursor


Status = Literal["created", "updated", "duplicate", "unchanged", "rejected"]


class CardResult(Response):
    """The fate of one submitted card (``reason`` and ``message`` when rejected)."""

    index: int = Field(description="Position in the request.")
    person_id: str | None = None
    status: Status
    id: int | None = None
    uuid: str | None = None
    reason: str = None
    message: str = None
    path: str = Field(None, description="Where the card is in the request.")


class ChangeResult(Response):
    """The fate of one updated record (``reason`` and ``message`` when rejected)."""

    index: int = Field(description="Position in the request.")
    id: int
    status: Status
    reason: str = None
    message: str = None


class SubmitResponse(Response):
    message: str = Field(examples=["Attendance list created successfully."])
    person_ids: list[str]
    results: list[CardResult]


class UpdateResponse(Response):
    message: str = Field(examples=["Attendance list updated successfully."])
    results: list[ChangeResult]


class DeleteResponse(Response):
    message: str = Field(examples=["Attendance list deleted successfully."])
    deleted_ids: list[int]
    missing_ids: list[int]


class NamedRecords(Response):
    records: list[NamedRef]


class Subscriber(Response):
    id: int
    person_id: str
    name: str | bool = None
    family_name: str | bool = None
    given_name: str | bool = None
    email: str | bool = None
    phone: str | bool = None
    mobile: str | bool = None


class Subscribers(Response):
    records: list[Subscriber]
    pagination: Pagination
    next_cursor: str | None = NextCursor


class ErrorDetail(Response):
    path: str = None
    reason: str = None
    message: str = None


class ErrorBody(Response):
    code: int
    message: str
    details: list[ErrorDetail] = None


class Error(Response):
    """The error envelope of every API error."""

    error: ErrorBody


class SubmitError(Error):
    """A submission refused as a whole: the error, and every card's result."""

    results: list[CardResult] = None


class UpdateError(Error):
    """An update refused as a whole: the error, and every record's result."""

    results: list[ChangeResult] = None


# -- the token endpoint (spp_oauth parses it; documented here) -----------------------


class TokenForm(BaseModel):
    grant_type: str = None
    client_id: str = None
    client_secret: str = None
    scope: str = None


class TokenJson(BaseModel):
    client_id: str = None
    client_secret: str = None


class Token(BaseModel):
    access_token: str
    token_type: str
    expires_in: int = None
    scope: str = None


class OAuthError(BaseModel):
    error: Literal[
        "invalid_request",
        "invalid_client",
        "unsupported_grant_type",
        "invalid_scope",
        "slow_down",
        "request_too_large",
    ]
    error_description: str = None
