"""The API's business operations, as plain Python on an Odoo ``env``.

No ``request``, no werkzeug: the controller parses and authenticates, calls one
service and shapes the response; the services apply the models' rules (uniqueness
keys, time zones, uuids, company isolation through ``env.companies``) and raise the
typed errors of :mod:`.exceptions`.
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
