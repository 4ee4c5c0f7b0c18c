import logging

from odoo import _, api, fields, models
from odoo.exceptions import RedirectWarning, UserError

from .attendance_list import UNIQUENESS_PARAMS

_logger = logging.getLogger(__name__)

#: queue_job channel of the recompute (capacity 1 in the configuration): two
#: changes never recompute at the same time.
UNIQUENESS_CHANNEL = "root.spp_uniqueness"


class AttendanceUniquenessChange(models.Model):
    """A requested change of the uniqueness rule, applied by a background job.

    The rule in force stays the four ``spp_attendance.*_unique`` parameters:
    writers read them (``_get_uniqueness_flags``) and the partial unique index
    holds the keys of that rule, so until the job commits every write is
    checked against the old rule, by the database. The job recomputes every
    key and switches the parameters in one transaction: the new rule is in
    force from its commit on, or, if existing records conflict with it,
    nothing changes and ``message`` says why.
    """

    _name = "spp.attendance.uniqueness.change"
    _description = "Attendance Uniqueness Rule Change"
    _order = "id desc"

    flags = fields.Char(
        readonly=True, help="The requested criteria, e.g. 'date,time' (empty: none)."
    )
    state = fields.Selection(
        [
            ("queued", "Queued"),
            ("done", "Applied"),
            ("failed", "Refused"),
            ("superseded", "Superseded"),
        ],
        default="queued",
        required=True,
        readonly=True,
    )
    message = fields.Text(readonly=True)
    updated_count = fields.Integer(
        string="Keys Updated", readonly=True, help="Records whose key changed."
    )
    job_uuid = fields.Char(readonly=True, copy=False)
    job_state = fields.Char(compute="_compute_job_state")
    user_id = fields.Many2one(
        "res.users", default=lambda self: self.env.user, readonly=True
    )
    date_done = fields.Datetime(readonly=True)

    def _compute_job_state(self):
        jobs = (
            self.env["queue.job"]
            .sudo()
            .search_read(
                [("uuid", "in", [uuid for uuid in self.mapped("job_uuid") if uuid])],
                ["uuid", "state"],
            )
        )
        labels = dict(self.env["queue.job"]._fields["state"].selection)
        states = {job["uuid"]: labels.get(job["state"], job["state"]) for job in jobs}
        for change in self:
            change.job_state = states.get(change.job_uuid, False)

    @api.model
    def _flags_tuple(self, flags):
        """Canonical tuple of criteria from a 'date,time' string."""
        wanted = set(filter(None, (flags or "").split(",")))
        return tuple(name for name in UNIQUENESS_PARAMS if name in wanted)

    @api.model
    def _latest(self):
        return self.sudo().search([], limit=1)

    @api.model
    def _request(self, flags):
        """Ask for the rule ``flags`` (tuple of criteria); returns the change
        (empty when the rule asked for is already in force and nothing is
        queued). A queued change for another rule is superseded: its job will
        do nothing."""
        flags = self._flags_tuple(",".join(flags))
        Change = self.sudo()
        queued = Change.search([("state", "=", "queued")])
        in_force = self.env["spp.attendance.list"].sudo()._get_uniqueness_flags()
        same = queued.filtered(lambda change: self._flags_tuple(change.flags) == flags)
        (queued - same).write(
            {"state": "superseded", "date_done": fields.Datetime.now()}
        )
        if same:
            return same[:1]
        if flags == in_force:
            return Change
        change = Change.create({"flags": ",".join(flags)})
        job = change.with_delay(
            channel=UNIQUENESS_CHANNEL,
            description=_("Apply the attendance uniqueness rule (%s)", change.flags),
        )._job_apply()
        change.job_uuid = job.uuid
        return change

    def _job_apply(self):
        """Job: recompute every key for the requested rule and put it in force.

        First a lock-free look for conflicts (writers go on meanwhile, under
        the old rule); then, in ``_apply_uniqueness_settings``, the settings
        sentinel is locked (in-flight writers finish first; new ones wait for
        this transaction), conflicts are looked for again, the keys are
        rewritten and the table analyzed.
        """
        self.ensure_one()
        self = self.sudo()
        # Two deliveries of one job (a requeued job on another node) serialize
        # here; the second sees the first one's outcome.
        self.env.cr.execute(
            "SELECT state FROM spp_attendance_uniqueness_change WHERE id = %s "
            "FOR UPDATE",
            [self.id],
        )
        self.invalidate_recordset(["state"])
        if self.state != "queued":
            return _("Nothing to do: the change is %s.", self.state)
        flags = self._flags_tuple(self.flags)
        Attendance = self.env["spp.attendance.list"].sudo()
        try:
            groups = Attendance._uniqueness_conflict_groups(flags)
            if groups:
                Attendance._raise_uniqueness_conflicts(flags, groups)
            with self.env.cr.savepoint():
                params = self.env["ir.config_parameter"].sudo()
                deferred = params.with_context(spp_attendance_defer_uniqueness=True)
                for name, (param, _code) in UNIQUENESS_PARAMS.items():
                    deferred.set_param(param, "True" if name in flags else False)
                count = Attendance._apply_uniqueness_settings()
        except (RedirectWarning, UserError) as err:
            # The old rule stays: the savepoint undid the parameters.
            self.write(
                {
                    "state": "failed",
                    "message": err.args[0],
                    "date_done": fields.Datetime.now(),
                }
            )
            _logger.info("Uniqueness change %s refused: %s", self.id, err.args[0])
            return err.args[0]
        self.write(
            {
                "state": "done",
                "updated_count": count,
                "message": False,
                "date_done": fields.Datetime.now(),
            }
        )
        return _("%s duplicate keys updated", count)

    def action_show_conflicts(self):
        """The records that conflict with this change's rule (looked up now)."""
        self.ensure_one()
        flags = self._flags_tuple(self.flags)
        Attendance = self.env["spp.attendance.list"]
        groups = Attendance.sudo()._uniqueness_conflict_groups(flags)
        return Attendance._uniqueness_conflicts_action(groups)
