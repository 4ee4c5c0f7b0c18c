"""Typed errors of the API services.

The services never answer HTTP: they raise these, and the controller maps each type
to a status (:data:`spp_attendance.controllers.attendance_api.STATUS_BY_ERROR`). The
``message`` is final (it already names the card's place in the request when there is
one); ``reason`` is the machine-readable code of the API's ``details[].reason``;
``field`` is where the bad value is, when one value is to blame.
"""


class ServiceError(Exception):
    """Base class: a request the services refuse."""

    reason = "invalid"

    def __init__(self, message, field=None, reason=None, detail=None):
        super().__init__(message)
        self.message = message
        self.field = field
        if reason:
            self.reason = reason
        #: the message of the error's detail when it differs from ``message``
        self.detail = detail or message


class Invalid(ServiceError):
    """A value that cannot be accepted (400)."""


class UnknownReference(Invalid):
    """A value refers to something that does not exist (a person, a type, a
    location given in the request body or query): a bad request, not a missing
    resource."""

    reason = "not_found"


class NotFound(ServiceError):
    """The addressed resource does not exist (404)."""

    reason = "not_found"


class DuplicateRecord(Invalid):
    """The record would duplicate another one under the uniqueness settings."""

    reason = "duplicate"

    def __init__(self, message, key=None, existing_id=None, **kwargs):
        super().__init__(message, **kwargs)
        self.key = key
        self.existing_id = existing_id


class UuidConflict(ServiceError):
    """A client uuid already used for a different attendance record (409)."""

    reason = "uuid_conflict"

    def __init__(self, message, uuid=None, **kwargs):
        super().__init__(message, **kwargs)
        self.uuid = uuid


class NotStored(ServiceError):
    """A valid card left out because another card of its atomic request was
    rejected; never the cause of a rejection."""

    reason = "not_stored"


class BatchRejected(ServiceError):
    """An atomic batch refused as a whole: nothing was stored or changed.

    ``results`` holds every item's result (the rejected ones with their error);
    ``errors`` the errors that caused the rejection, in order.
    """

    def __init__(self, results):
        self.results = results
        self.errors = [
            result.error
            for result in results
            if result.error is not None and not isinstance(result.error, NotStored)
        ]
        first = self.errors[0]
        super().__init__(first.message, reason=first.reason)
