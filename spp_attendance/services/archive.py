"""``DELETE /attendances``: archive records (recoverable)."""

from odoo import _

from .common import Service
from .results import ArchiveResult


class ArchiveService(Service):
    def archive(self, ids, client=None):
        """Remove records from every view, recoverably.

        Archived records keep their history and no longer count for uniqueness;
        each gets a chatter note naming the API client.

        :return: :class:`ArchiveResult` (ids of the current companies' records
            archived, and the ids not found)
        """
        Attendance = self.env["spp.attendance.list"]
        records = Attendance.search([("id", "in", ids)])
        missing = [record_id for record_id in ids if record_id not in records.ids]
        if records:
            # the note below is the audit trail: no tracking message per record
            records.with_context(tracking_disable=True).write({"active": False})
            if client:
                Attendance._api_log(
                    records,
                    _(
                        "Removed (archived) through the API by client %(client)s.",
                        client=client.name,
                    ),
                )
        return ArchiveResult(archived_ids=records.ids, missing_ids=missing)
