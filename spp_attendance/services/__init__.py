"""The API's business operations, as plain Python on an Odoo ``env``.

No ``request``, no werkzeug: the controller parses and authenticates, calls one
service and shapes the response; the services apply the models' rules (uniqueness
keys, time zones, uuids) and raise the typed errors of :mod:`.exceptions`.

They run in the caller's environment, never as superuser: access rights and the
record rules (company isolation) decide what exists for the caller. The API calls
them as its technical user with the client's company as the only allowed company;
the back office as the staff user. The one plain-SQL lookup (stored uuids and keys,
in :mod:`.submit`) filters by ``env.companies`` itself.
"""

from . import archive, exceptions, history, results, submit, subscribers, update
from .archive import ArchiveService
from .history import HistoryService
from .submit import SubmitService
from .subscribers import SubscriberService
from .update import UpdateService

__all__ = [
    "ArchiveService",
    "HistoryService",
    "SubmitService",
    "SubscriberService",
    "UpdateService",
    "archive",
    "exceptions",
    "history",
    "results",
    "submit",
    "subscribers",
    "update",
]
