import json
import logging
import uuid
from collections import defaultdict

import psycopg2

from odoo import _, api, fields, models
from odoo.exceptions import AccessError, UserError, ValidationError
from odoo.tools import SQL

from odoo.addons.queue_job.exception import RetryableJobError

from ..tools import dci
from .attendance_subscriber import NAME_FIELDS

_logger = logging.getLogger(__name__)

PARAM_PREFIX = "spp_attendance.registry_"
SECRET_PARAM = PARAM_PREFIX + "client_secret"
# Subscriber fields an import can set (besides person_identifier).
IMPORT_FIELDS = ("family_name", "given_name", "addl_name", "gender", "email", "phone")
# Mapping key (tools.dci.MAPPING_KEYS) -> configuration parameter suffix.
MAPPING_PARAMS = {key: f"{key}_path" for key in dci.MAPPING_KEYS}
# Parameters with a built-in default (used when the parameter is missing).
PARAM_DEFAULTS = {
    "server_url": "",
    "token_endpoint": dci.DEFAULT_TOKEN_ENDPOINT,
    "search_endpoint": dci.DEFAULT_SEARCH_ENDPOINT,
    "client_id": "",
    "token_style": dci.TOKEN_STYLE_FORM,
    "token_path": dci.DEFAULT_TOKEN_PATH,
    "search_criteria": json.dumps(dci.DEFAULT_SEARCH_CRITERIA),
    "page_size": str(dci.DEFAULT_PAGE_SIZE),
    "timeout": str(dci.DEFAULT_TIMEOUT),
    "sender_id": "",
    "receiver_id": "",
    # No settings field: system parameters for the administrator who needs
    # them (see USAGE.md, "Retries").
    "retries": str(dci.DEFAULT_RETRIES),
    "backoff_factor": str(dci.DEFAULT_BACKOFF_FACTOR),
    "retry_after_max": str(dci.DEFAULT_RETRY_AFTER_MAX),
}
# At most this many skipped records / errors are kept per import (the counts
# are always complete): the log stays small whatever the registry's size.
MAX_ISSUES = 500
# queue_job channel of the background import: its capacity (1 by default, see
# the [queue_job] channels option) is how many pages are asked of registries at
# once, whatever the number of imports and nodes.
IMPORT_CHANNEL = "root.spp_registry_import"
# A page job's identity key is this prefix, the log's id and the page number:
# a page is never queued twice, and a log finds its jobs by it.
JOB_KEY_PREFIX = "spp_registry_import:"
# Attempts of a page job on transient registry errors (connection, timeout,
# HTTP 429/502/503/504 once the client's own quick retries are spent), waiting
# JOB_BACKOFF x 2^(n-1) seconds (at most JOB_BACKOFF_MAX) before the n-th retry.
JOB_RETRIES = 5
JOB_BACKOFF = 30
JOB_BACKOFF_MAX = 600
SKIP_REASON_SELECTION = [
    ("not_object", "Record is not an object"),
    ("missing_identifier", "Missing identifier"),
    ("missing_names", "Missing names"),
    ("wrong_type", "Value of the wrong type"),
    ("invalid_value", "Invalid value"),
    ("duplicate", "Identifier used in another company"),
    ("error", "Error"),
]


class AttendanceImportLog(models.Model):
    """One run of the registry import: where from, who, progress and outcome.

    The run is processed page by page (:meth:`_process_next_page`); in the
    background, one queue_job job per page (:meth:`_job_import_page`), each
    committed with the page it saved, so a failure on page 40 keeps pages 1
    to 39 and :meth:`action_resume` carries on from page 40
    with the same configuration snapshot, DCI ``transaction_id`` and
    pagination state (``tools.dci.Pager``, shared with the preview).
    """

    _name = "spp.attendance.import.log"
    _description = "Registry Import Log"
    _order = "id desc"
    _rec_name = "name"

    name = fields.Char(compute="_compute_name")
    state = fields.Selection(
        [
            ("running", "Running"),
            ("done", "Done"),
            ("failed", "Failed"),
            ("cancelled", "Cancelled"),
        ],
        default="running",
        required=True,
        readonly=True,
        index=True,
    )
    background = fields.Boolean(
        readonly=True, help="Processed by background jobs, one per page."
    )
    job_ids = fields.Many2many(
        "queue.job",
        compute="_compute_job_ids",
        string="Jobs",
        groups="queue_job.group_queue_job_manager",
    )
    job_summary = fields.Text(
        compute="_compute_job_counts",
        string="Page Jobs",
        help="The background jobs of this import, one per page, newest first.",
    )
    job_count = fields.Integer(compute="_compute_job_counts", string="Jobs Queued")
    job_pending_count = fields.Integer(
        compute="_compute_job_counts", string="Jobs Waiting or Running"
    )
    job_failed_count = fields.Integer(
        compute="_compute_job_counts", string="Jobs Failed"
    )
    user_id = fields.Many2one(
        "res.users",
        string="Started by",
        default=lambda self: self.env.user,
        required=True,
        readonly=True,
    )
    company_id = fields.Many2one(
        "res.company",
        default=lambda self: self.env.company,
        required=True,
        readonly=True,
    )
    date_start = fields.Datetime(
        string="Started", default=fields.Datetime.now, readonly=True
    )
    date_end = fields.Datetime(string="Ended", readonly=True)
    source_url = fields.Char(string="Source", readonly=True)
    transaction_id = fields.Char(
        string="DCI Transaction",
        readonly=True,
        default=lambda self: str(uuid.uuid4()),
        copy=False,
    )
    config_snapshot = fields.Text(
        readonly=True,
        help="The registry settings the run uses (without the client secret).",
    )
    page_size = fields.Integer(readonly=True, help="The page size asked for.")
    registry_page_size = fields.Integer(
        readonly=True,
        help="The page size the registry reported as its own, when it differs "
        "from the one asked for. A smaller one reported on page 1 (its page cap) "
        "is used for the following pages.",
    )
    next_page = fields.Integer(default=1, readonly=True)
    pages_done = fields.Integer(readonly=True)
    total_count = fields.Integer(
        string="Registry Total", readonly=True, help="Persons the registry reported."
    )
    total_pages = fields.Integer(compute="_compute_progress")
    progress = fields.Float(compute="_compute_progress", string="Progress (%)")
    received_count = fields.Integer(
        string="Received", readonly=True, help="Person records received."
    )
    registry_received_count = fields.Integer(
        string="Registry Records Received",
        readonly=True,
        help="Records received as the registry counts them in its total (a group "
        "is one record, whatever persons the mapping finds in it).",
    )
    created_count = fields.Integer(string="Created", readonly=True)
    updated_count = fields.Integer(string="Updated", readonly=True)
    unchanged_count = fields.Integer(string="Unchanged", readonly=True)
    skipped_count = fields.Integer(string="Skipped", readonly=True)
    pagination_state = fields.Text(
        readonly=True,
        help="Where the run is in the registry's pagination (tools.dci.Pager).",
    )
    error_code = fields.Char(readonly=True)
    error_message = fields.Text(string="Error", readonly=True)
    issue_ids = fields.One2many(
        "spp.attendance.import.log.issue", "log_id", string="Skipped Records"
    )
    issue_overflow_count = fields.Integer(
        readonly=True, help="Skipped records not listed (beyond the first ones)."
    )

    @api.depends("date_start")
    def _compute_name(self):
        for log in self:
            log.name = _(
                "Registry import %(ref)s",
                ref=log.id or _("(new)"),
            )

    @api.depends(
        "total_count",
        "registry_received_count",
        "page_size",
        "registry_page_size",
        "pages_done",
        "state",
    )
    def _compute_progress(self):
        for log in self:
            size = log.registry_page_size or log.page_size or 1
            total = dci.page_count(log.total_count or None, size) or 0
            log.total_pages = max(total, log.pages_done)
            if log.state == "done":
                log.progress = 100.0
            elif log.total_count:
                # records, not pages: a registry's short pages count right
                progress = 100.0 * log.registry_received_count / log.total_count
                log.progress = min(round(progress, 1), 100.0)
            else:
                log.progress = 0.0

    # ------------------------------------------------------------------
    # Configuration
    # ------------------------------------------------------------------

    @api.model
    def _registry_params(self):
        """The registry settings as a dict (without the secret)."""
        ICP = self.env["ir.config_parameter"].sudo()
        params = {
            name: ICP.get_param(PARAM_PREFIX + name) or default
            for name, default in PARAM_DEFAULTS.items()
        }
        params["mapping"] = {
            key: ICP.get_param(PARAM_PREFIX + param) or ""
            for key, param in MAPPING_PARAMS.items()
        }
        params["sender_id"] = params["sender_id"] or ICP.get_param("web.base.url", "")
        return params

    @api.model
    def _seed_registry_params(self):
        """Install the DCI preset's mapping where no mapping is configured."""
        ICP = self.env["ir.config_parameter"].sudo()
        if not ICP.get_param(PARAM_PREFIX + "mapping_preset"):
            ICP.set_param(PARAM_PREFIX + "mapping_preset", "dci")
        for key, path in dci.PRESETS["dci"].items():
            if not ICP.get_param(PARAM_PREFIX + MAPPING_PARAMS[key]):
                ICP.set_param(PARAM_PREFIX + MAPPING_PARAMS[key], path)

    @api.model
    def _registry_client(self, params=None):
        """A :class:`~..tools.dci.RegistryClient` for ``params`` (default: the
        current settings), with the client secret read here and kept only in
        memory. Raises ``UserError`` on an unusable configuration."""
        params = dict(params or self._registry_params())
        params["client_secret"] = (
            self.env["ir.config_parameter"].sudo().get_param(SECRET_PARAM) or ""
        )
        if not params.get("server_url"):
            raise UserError(
                _(
                    "The registry server URL is not set (Settings > Attendance > "
                    "Registry Import)."
                )
            )
        try:
            return dci.RegistryClient(params)
        except dci.DCIError as err:
            raise UserError(_("Registry settings: %s", err.message))

    @api.model
    def _source_url(self, params):
        try:
            return dci.join_url(params.get("server_url"), params.get("search_endpoint"))
        except dci.DCIError:
            return params.get("server_url") or ""

    # ------------------------------------------------------------------
    # Planning and applying one page (shared by preview and import)
    # ------------------------------------------------------------------

    @api.model
    def _plan_records(self, records, mapping, known=None):
        """What importing ``records`` would do, without writing anything.

        :param known: ``{identifier: (values tuple, subscriber id)}`` of the
            identifiers already planned in this run; updated in place. The
            preview passes one dict for all pages, the import one per page.
        :return: a list of entries (dicts) in record order with ``action``
            (``create``, ``update``, ``unchanged`` or ``skip``), ``index``,
            ``identifier``, ``values``, ``changes``, ``subscriber_id``,
            ``reason`` and ``detail``.
        """
        known = {} if known is None else known
        entries, mapped = [], []
        for index, record in enumerate(records, 1):
            try:
                values = dci.map_record(record, mapping)
            except dci.Skip as skip:
                entries.append(
                    {
                        "action": "skip",
                        "index": index,
                        "identifier": self._raw_identifier(record, mapping),
                        "values": {},
                        "reason": skip.reason,
                        "detail": skip.detail,
                    }
                )
                continue
            entry = {
                "action": False,
                "index": index,
                "identifier": values["person_identifier"],
                "values": values,
            }
            entries.append(entry)
            mapped.append(entry)
        to_read = list({entry["identifier"] for entry in mapped} - known.keys())
        existing = self._read_subscribers(to_read) if to_read else {}
        allowed_companies = set(self.env.companies.ids)
        for entry in mapped:
            identifier, values = entry["identifier"], entry["values"]
            if identifier in known:
                current, subscriber_id = known[identifier]
            elif identifier in existing:
                subscriber_id, company_id, current = existing[identifier]
                if company_id not in allowed_companies:
                    entry.update(
                        action="skip",
                        reason="duplicate",
                        detail=_(
                            "identifier %s belongs to a subscriber of another company",
                            identifier,
                        ),
                    )
                    continue
            else:
                entry["action"] = "create"
                known[identifier] = (
                    tuple(values.get(f) or False for f in IMPORT_FIELDS),
                    False,
                )
                continue
            current = dict(zip(IMPORT_FIELDS, current, strict=True))
            changes = {
                fname: values[fname]
                for fname in IMPORT_FIELDS
                if values.get(fname) and values[fname] != current[fname]
            }
            entry.update(
                action="update" if changes else "unchanged",
                changes=changes,
                old=dict(current),
                subscriber_id=subscriber_id,
            )
            if changes:
                current.update(changes)
                known[identifier] = (
                    tuple(current[f] for f in IMPORT_FIELDS),
                    subscriber_id,
                )
        return entries

    @api.model
    def _read_subscribers(self, identifiers):
        """``{identifier: (subscriber id, company id, IMPORT_FIELDS values)}`` of
        the subscribers (archived included, any company) with these identifiers.

        One SQL query instead of ``search_fetch``: no ORM record per person.
        A join on ``unnest()``, not an ``IN`` list: PostgreSQL planned the list
        on the identifier's trigram index, one probe per value, each reading
        the index's whole pending list (seconds per page after a first import
        of 10,000, until autovacuum cleaned the list); the join is planned as a
        hash join or lookups in the unique index.
        """
        self.env["spp.attendance.subscriber"].flush_model(
            ["person_identifier", "company_id", "partner_id", *NAME_FIELDS, "gender"]
        )
        self.env["res.partner"].flush_model(["email", "phone"])
        self.env.cr.execute(
            SQL(
                """
                -- the values in IMPORT_FIELDS order
                SELECT s.person_identifier, s.id, s.company_id, s.family_name,
                       s.given_name, s.addl_name, s.gender, p.email, p.phone
                  FROM unnest(%s::varchar[]) AS page(identifier)
                  JOIN spp_attendance_subscriber s
                    ON s.person_identifier = page.identifier
                  JOIN res_partner p ON p.id = s.partner_id
                """,
                list(identifiers),
            )
        )
        return {
            identifier: (subscriber_id, company_id, tuple(v or False for v in values))
            for identifier, subscriber_id, company_id, *values in self.env.cr.fetchall()
        }

    @api.model
    def _raw_identifier(self, record, mapping):
        """Best-effort identifier of a skipped record, for the report."""
        if not isinstance(record, dict):
            return False
        value = dci.resolve(record, mapping.get("identifier") or "")
        if isinstance(value, str | int) and not isinstance(value, bool):
            return str(value)[:64]
        return False

    @api.model
    def _apply_plan(self, entries):
        """Create and update subscribers as planned; a record's missing field
        is never written, and no contact is matched by name: every new
        subscriber gets its own new contact."""
        creates, updates = {}, {}
        for entry in entries:
            if entry["action"] == "create":
                creates[entry["identifier"]] = dict(entry["values"])
            elif entry["action"] == "update":
                if entry["subscriber_id"]:
                    updates.setdefault(entry["subscriber_id"], {}).update(
                        entry["changes"]
                    )
                else:  # created earlier in the same page
                    creates[entry["identifier"]].update(entry["changes"])
        Subscriber = self.env["spp.attendance.subscriber"]
        if creates:
            company_id = self.env.company.id
            Subscriber._import_create(
                [dict(vals, company_id=company_id) for vals in creates.values()]
            )
        # Changes stay tracked in each subscriber's chatter; persons with the
        # same changes are written together.
        by_changes = defaultdict(list)
        for subscriber_id, changes in updates.items():
            by_changes[frozenset(changes.items())].append(subscriber_id)
        for changes, subscriber_ids in by_changes.items():
            Subscriber.browse(subscriber_ids).write(dict(changes))

    @api.model
    def _count_entries(self, entries):
        counts = dict.fromkeys(("create", "update", "unchanged", "skip"), 0)
        for entry in entries:
            counts[entry["action"]] += 1
        return counts

    # ------------------------------------------------------------------
    # Running
    # ------------------------------------------------------------------

    @api.model
    def _start(self, background=False):
        """Create a log for an import with the current settings."""
        params = self._registry_params()
        client = self._registry_client(params)  # validates the settings
        return self.create(
            {
                "background": background,
                "source_url": client.search_url,
                "page_size": client.page_size,
                "config_snapshot": json.dumps(params, indent=2, sort_keys=True),
                "pagination_state": json.dumps(client.pager().to_dict()),
            }
        )

    def _pager(self):
        """The run's :class:`~..tools.dci.Pager`, as left by the last page."""
        self.ensure_one()
        if self.pagination_state:
            return dci.Pager.from_dict(json.loads(self.pagination_state))
        # a log started before the pagination state was kept
        return dci.Pager(
            self.page_size or dci.DEFAULT_PAGE_SIZE,
            number=self.next_page or 1,
            received=self.registry_received_count or self.received_count,
            pages=self.pages_done,
            total=self.total_count or None,
        )

    def _client_from_snapshot(self):
        self.ensure_one()
        params = json.loads(self.config_snapshot or "{}") or None
        return self._registry_client(params)

    def _fail(self, code, message):
        self.ensure_one()
        _logger.warning(
            "Registry import %s failed on page %s: %s", self.id, self.next_page, message
        )
        self.write(
            {
                "state": "failed",
                "error_code": code,
                "error_message": message,
                "date_end": fields.Datetime.now(),
            }
        )

    def _process_next_page(self, client=None, on_transient=None):
        """Fetch, map and save page ``next_page``; update counts and progress.

        Returns True when more pages remain. A failure (registry error, a
        pagination that contradicts itself, or a page that cannot be saved)
        rolls that page back, marks the log failed and returns False; the
        pages before it stay. The pagination state is saved with the page, so
        a resumed run asks for the failed page again.

        ``on_transient(error, page number)``: called on a transient registry
        error (:func:`~..tools.dci.is_transient`); it raises to retry the page
        later (a job), or returns the message to fail the import with.
        """
        self.ensure_one()
        if self.state != "running":
            return False
        pager = self._pager()
        number = pager.number
        try:
            client = client or self._client_from_snapshot()
            page = client.search_page(number, self.transaction_id, pager.request_size)
            last = pager.advance(page)
        except UserError as err:
            self._fail("config", err.args[0])
            return False
        except dci.DCIError as err:
            message = None
            if on_transient and dci.is_transient(err):
                message = on_transient(err, number)
            self._fail(
                err.code,
                message
                or _("Page %(page)s: %(error)s", page=number, error=err.message),
            )
            return False
        try:
            with self.env.cr.savepoint():
                entries = self._plan_records(page.records, client.mapping)
                self._apply_plan(entries)
                self._record_issues(entries, number)
        except (ValidationError, UserError, AccessError, psycopg2.Error) as err:
            message = err.args[0] if err.args else str(err)
            self._fail(
                "save",
                _(
                    "Page %(page)s could not be saved: %(error)s",
                    page=number,
                    error=message,
                ),
            )
            return False
        counts = self._count_entries(entries)
        values = {
            "pagination_state": json.dumps(pager.to_dict()),
            "next_page": pager.number,
            "pages_done": pager.pages,
            "received_count": self.received_count + len(page.records),
            "registry_received_count": pager.received,
            "registry_page_size": pager.registry_size or 0,
            "created_count": self.created_count + counts["create"],
            "updated_count": self.updated_count + counts["update"],
            "unchanged_count": self.unchanged_count + counts["unchanged"],
            "skipped_count": self.skipped_count + counts["skip"],
        }
        if pager.total is not None:
            values["total_count"] = pager.total
        if last:
            values.update(state="done", date_end=fields.Datetime.now())
        self.write(values)
        _logger.info(
            "Registry import %s: page %s, %s records (%s created, %s updated)",
            self.id,
            number,
            len(page.records),
            counts["create"],
            counts["update"],
        )
        return not last

    def _record_issues(self, entries, page_number):
        skipped = [entry for entry in entries if entry["action"] == "skip"]
        if not skipped:
            return
        room = max(0, MAX_ISSUES - len(self.issue_ids))
        self.env["spp.attendance.import.log.issue"].sudo().create(
            [
                {
                    "log_id": self.id,
                    "page": page_number,
                    "position": entry["index"],
                    "identifier": entry["identifier"],
                    "reason": entry["reason"],
                    "detail": entry["detail"],
                }
                for entry in skipped[:room]
            ]
        )
        if len(skipped) > room:
            self.issue_overflow_count += len(skipped) - room

    def _run(self):
        """Process every page in this transaction (an import in the request)."""
        self.ensure_one()
        try:
            client = self._client_from_snapshot()
        except UserError as err:
            self._fail("config", err.args[0])
            return
        while self._process_next_page(client):
            pass

    # ------------------------------------------------------------------
    # Background: one queue_job job per page
    # ------------------------------------------------------------------

    def _enqueue_page(self):
        """Queue the job of page ``next_page``, on the import channel (its
        capacity bounds the pages asked of registries at once). Called in the
        transaction that saves the previous page: the page and the job of the
        next one are committed together, or neither is."""
        self.ensure_one()
        number = self.next_page
        return self.with_delay(
            channel=IMPORT_CHANNEL,
            max_retries=JOB_RETRIES,
            identity_key=f"{JOB_KEY_PREFIX}{self.id}:{number}",
            description=_(
                "Registry import %(ref)s, page %(page)s", ref=self.id, page=number
            ),
        )._job_import_page(number)

    def _job_import_page(self, number):
        """Job: import page ``number`` of this run, then queue the next page.

        The log row is locked first (without waiting): a second delivery of the same
        job (requeued while the first still runs, on this node or another)
        retries later instead of reading the page twice, and then finds the
        page done. The persons themselves are guarded by the unique index on
        ``person_identifier``: whatever runs, nobody is created twice.
        """
        self.ensure_one()
        # SKIP LOCKED, not NOWAIT: no row means another transaction holds it,
        # without an error (and its "bad query" line) in the log.
        self.env.cr.execute(
            "SELECT 1 FROM spp_attendance_import_log WHERE id = %s "
            "FOR UPDATE SKIP LOCKED",
            [self.id],
        )
        if not self.env.cr.fetchone():
            raise RetryableJobError(
                "Another job is processing this import", seconds=5, ignore_retry=True
            )
        log = self.sudo()
        log.invalidate_recordset()
        if log.state != "running" or log.next_page != number:
            return _("Nothing to do: the import is %(state)s, at page %(page)s.") % {
                "state": log.state,
                "page": log.next_page,
            }
        log = log.with_user(log.user_id).with_company(log.company_id)
        try:
            with self.env.cr.savepoint():
                more = log._process_next_page(on_transient=self._job_transient_error)
        except (RetryableJobError, psycopg2.OperationalError):
            raise  # tried again by queue_job (concurrency errors included)
        except Exception as err:  # never leave a log "running" with no job
            _logger.exception("Registry import %s crashed on page %s", log.id, number)
            log.sudo()._fail("crash", str(err))
            return str(err)
        if more:
            log._enqueue_page()
        return _("Page %(page)s imported (%(state)s).") % {
            "page": number,
            "state": log.sudo().state,
        }

    @api.model
    def _job_attempt(self):
        """(attempt, max_retries) of the job running this code; a first attempt
        when the job is not stored (performed by a test's trap)."""
        job_uuid = self.env.context.get("job_uuid")
        if job_uuid:
            self.env.cr.execute(
                "SELECT retry, max_retries FROM queue_job WHERE uuid = %s", [job_uuid]
            )
            row = self.env.cr.fetchone()
            if row:
                return row[0] + 1, row[1]
        return 1, JOB_RETRIES

    @api.model
    def _job_transient_error(self, err, number):
        """A transient registry error in a job: retried later with backoff
        while attempts remain (the page is rolled back, nothing is lost);
        returns the message to fail the import with once they are spent."""
        attempt, max_retries = self._job_attempt()
        if max_retries and attempt < max_retries:
            seconds = min(JOB_BACKOFF * 2 ** (attempt - 1), JOB_BACKOFF_MAX)
            raise RetryableJobError(
                _(
                    "Page %(page)s: %(error)s (attempt %(attempt)s of %(max)s)",
                    page=number,
                    error=err.message,
                    attempt=attempt,
                    max=max_retries,
                ),
                seconds=seconds,
            )
        return _(
            "Page %(page)s: %(error)s (gave up after %(attempts)s attempts)",
            page=number,
            error=err.message,
            attempts=attempt,
        )

    def _job_domain(self):
        self.ensure_one()
        return [
            ("model_name", "=", self._name),
            ("identity_key", "=like", f"{JOB_KEY_PREFIX}{self.id}:%"),
        ]

    def _jobs(self):
        """The page jobs of this import (sudo: Attendance Managers see them
        through the log, without access to every job of the database)."""
        self.ensure_one()
        Job = self.env["queue.job"].sudo()
        return Job.search(self._job_domain(), order="id desc") if self.id else Job

    def _compute_job_ids(self):
        for log in self:
            log.job_ids = log._jobs()

    def _compute_job_counts(self):
        labels = dict(self.env["queue.job"]._fields["state"].selection)
        for log in self:
            jobs = log._jobs()
            states = jobs.mapped("state")
            log.job_summary = "\n".join(
                "%s: %s%s%s"
                % (
                    job.identity_key.rsplit(":", 1)[1],
                    labels.get(job.state, job.state),
                    " (%s/%s)" % (job.retry, job.max_retries) if job.retry else "",
                    " - %s" % job.exc_message if job.exc_message else "",
                )
                for job in jobs[:50]
            )
            log.job_count = len(states)
            log.job_failed_count = states.count("failed")
            log.job_pending_count = sum(
                state in ("wait_dependencies", "pending", "enqueued", "started")
                for state in states
            )

    # ------------------------------------------------------------------
    # Buttons
    # ------------------------------------------------------------------

    def action_resume(self):
        """Carry on a failed (or cancelled) import from the page that failed:
        the pages committed before it are kept."""
        for log in self:
            if log.state not in ("failed", "cancelled"):
                raise UserError(_("Only a failed or cancelled import can be resumed."))
            log.write({"state": "running", "error_code": False, "error_message": False})
            log.date_end = False
            if log.background:
                log._enqueue_page()
            else:
                log._run()
        return True

    def action_cancel(self):
        """Stop the import after the page being imported (if any): its queued
        jobs are cancelled, and a job already running finds the import
        cancelled when it ends."""
        logs = self.filtered(lambda log: log.state in ("running", "failed"))
        logs.write({"state": "cancelled", "date_end": fields.Datetime.now()})
        for log in logs:
            pending = log._jobs().filtered(
                lambda job: job.state in ("wait_dependencies", "pending", "enqueued")
            )
            pending.button_cancelled()
        return True

    def action_open_jobs(self):
        self.ensure_one()
        return {
            "type": "ir.actions.act_window",
            "name": _("Jobs of %s", self.name),
            "res_model": "queue.job",
            "view_mode": "tree,form",
            "domain": self._job_domain(),
        }

    def action_refresh(self):
        """Reload the form (progress of a background import)."""
        return True
