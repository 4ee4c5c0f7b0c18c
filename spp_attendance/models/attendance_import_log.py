import json
import logging
import time
import uuid
import zlib
from contextlib import contextmanager

import psycopg2

from odoo import _, api, fields, models
from odoo.exceptions import AccessError, UserError, ValidationError

from ..tools import dci

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
# A cron run stops taking new pages after this many seconds and re-triggers
# itself, well below the workers' time limit.
CRON_TIME_BUDGET = 50
# First key of the PostgreSQL advisory lock a worker holds on a background
# import while it processes it (the second key is the log's id).
PROCESSING_LOCK_KEY = zlib.crc32(b"spp.attendance.import.log") & 0x7FFFFFFF
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
    background, the cron job commits after every page, so a failure on page
    40 keeps pages 1 to 39 and :meth:`action_resume` carries on from page 40
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
        readonly=True, help="Processed page by page by a scheduled action."
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
        existing = {}
        to_read = list({entry["identifier"] for entry in mapped} - known.keys())
        if to_read:
            subscribers = (
                self.env["spp.attendance.subscriber"]
                .sudo()
                .with_context(active_test=False)
                .search_fetch(
                    [("person_identifier", "in", to_read)],
                    ["person_identifier", "company_id", *IMPORT_FIELDS],
                )
            )
            existing = {sub.person_identifier: sub for sub in subscribers}
        allowed_companies = set(self.env.companies.ids)
        for entry in mapped:
            identifier, values = entry["identifier"], entry["values"]
            if identifier in known:
                current, subscriber_id = known[identifier]
            elif identifier in existing:
                subscriber = existing[identifier]
                if subscriber.company_id.id not in allowed_companies:
                    entry.update(
                        action="skip",
                        reason="duplicate",
                        detail=_(
                            "identifier %s belongs to a subscriber of another company",
                            identifier,
                        ),
                    )
                    continue
                current = tuple(subscriber[f] or False for f in IMPORT_FIELDS)
                subscriber_id = subscriber.id
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
        Subscriber = self.env["spp.attendance.subscriber"].with_context(
            mail_create_nolog=True, mail_create_nosubscribe=True
        )
        if creates:
            company_id = self.env.company.id
            Subscriber.create(
                [dict(vals, company_id=company_id) for vals in creates.values()]
            )
        for subscriber_id, changes in updates.items():
            Subscriber.browse(subscriber_id).write(changes)

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

    def _fail(self, code, message, commit=False):
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
        if commit:
            self._commit()

    def _commit(self):
        # The background import runs in a scheduled action and commits after
        # each page on purpose: a failure on page N must keep pages 1..N-1,
        # and progress must be visible to the user while it runs.
        self.env.cr.commit()  # pylint: disable=invalid-commit

    def _process_next_page(self, client=None, commit=False):
        """Fetch, map and save page ``next_page``; update counts and progress.

        Returns True when more pages remain. A failure (registry error, a
        pagination that contradicts itself, or a page that cannot be saved)
        rolls that page back, marks the log failed and returns False; the
        pages before it stay. The pagination state is saved with the page, so
        a resumed run asks for the failed page again.
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
            self._fail("config", err.args[0], commit)
            return False
        except dci.DCIError as err:
            self._fail(
                err.code,
                _("Page %(page)s: %(error)s", page=number, error=err.message),
                commit,
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
                commit,
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
        if commit:
            self._commit()
            # the cache of everything touched is stale for the next page
            self.env.invalidate_all()
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

    def _run(self, commit=False, deadline=None):
        """Process pages until the import ends, fails or ``deadline``
        (a ``time.monotonic()`` value) passes."""
        self.ensure_one()
        try:
            client = self._client_from_snapshot()
        except UserError as err:
            self._fail("config", err.args[0], commit)
            return
        while self._process_next_page(client, commit=commit):
            if deadline and time.monotonic() > deadline:
                break

    @contextmanager
    def _processing_lock(self):
        """Hold the log's processing lock for the block; yields whether it was
        free (False: another worker is processing this import).

        Why a lock of our own: Odoo's cron runs one job of a scheduled action
        at a time (the scheduler locks the ``ir_cron`` row in its own cursor
        for the whole job, across our per-page commits), but "Run Manually"
        locks that row in the job's own cursor, which our first per-page
        commit releases: the scheduler can then start the same job again
        while the manual run goes on. A row lock on the log (``FOR UPDATE``)
        would not do either: a commit releases it. This is a session-level
        PostgreSQL advisory lock: it belongs to the cursor's connection and
        survives commits and rollbacks until it is released here (or the
        connection closes, if the worker dies). A foreground import needs
        none: the cron never processes it, and its single transaction holds
        the log row from its first write to its end.
        """
        cr = self.env.cr
        key = (PROCESSING_LOCK_KEY, self.id)
        cr.execute("SELECT pg_try_advisory_lock(%s, %s)", key)
        locked = cr.fetchone()[0]
        try:
            yield locked
        finally:
            if locked:
                cr.execute("SELECT pg_advisory_unlock(%s, %s)", key)

    @api.model
    def _cron_process_imports(self, commit=True, time_budget=CRON_TIME_BUDGET):
        """Scheduled action: process the running background imports.

        Each import runs as the user who started it, in that user's company,
        committing after each page, under its processing lock
        (:meth:`_processing_lock`): an import another worker is processing is
        left to it. When the time budget is spent with work left, the job
        re-triggers itself.
        """
        deadline = time.monotonic() + time_budget
        logs = self.sudo().search(
            [("state", "=", "running"), ("background", "=", True)], order="id"
        )
        for log in logs:
            with log._processing_lock() as locked:
                if not locked:
                    continue
                if commit:
                    # a fresh snapshot: the worker that held the lock may
                    # have moved the import on (or ended it) since the search
                    self._commit()
                    self.env.invalidate_all()
                if log.state != "running":
                    continue
                self._run_locked(log, commit, deadline)
            if time.monotonic() > deadline:
                break
        if self.sudo().search_count(
            [("state", "=", "running"), ("background", "=", True)]
        ):
            cron = self.env.ref(
                "spp_attendance.ir_cron_registry_import", raise_if_not_found=False
            )
            if cron:
                cron._trigger()

    @api.model
    def _run_locked(self, log, commit, deadline):
        log = log.with_user(log.user_id).with_company(log.company_id)
        try:
            log._run(commit=commit, deadline=deadline)
        except Exception as err:  # never leave a log "running"
            if commit:
                self.env.cr.rollback()
            _logger.exception("Registry import %s crashed", log.id)
            log = log.sudo()
            log.invalidate_recordset()
            if log.state == "running":  # not cancelled meanwhile
                log._fail("crash", str(err), commit)

    # ------------------------------------------------------------------
    # Buttons
    # ------------------------------------------------------------------

    def action_resume(self):
        """Carry on a failed import from the page that failed."""
        for log in self:
            if log.state != "failed":
                raise UserError(_("Only a failed import can be resumed."))
            log.write({"state": "running", "error_code": False, "error_message": False})
            log.date_end = False
            if log.background:
                self.env.ref("spp_attendance.ir_cron_registry_import")._trigger()
            else:
                log._run()
        return True

    def action_cancel(self):
        self.filtered(lambda log: log.state in ("running", "failed")).write(
            {"state": "cancelled", "date_end": fields.Datetime.now()}
        )
        return True

    def action_refresh(self):
        """Reload the form (progress of a background import)."""
        return True
