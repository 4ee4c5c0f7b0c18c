from collections import Counter

from odoo import _, api, fields, models
from odoo.exceptions import UserError

from ..models.attendance_import_log import IMPORT_FIELDS, SKIP_REASON_SELECTION
from ..tools import dci

# Rows kept in the preview: the first persons, and the first skipped ones.
PREVIEW_ROWS = 200
# Above this many persons the import is proposed in the background.
BACKGROUND_THRESHOLD = 2000
# The preview reads at most this many pages (system parameter
# PREVIEW_MAX_PAGES_PARAM to change it), so that no web request walks a whole
# registry: it is exact when the registry fits, a lower bound otherwise.
PREVIEW_MAX_PAGES = 20
PREVIEW_MAX_PAGES_PARAM = "spp_attendance.registry_preview_max_pages"


class RegistryImportWizard(models.TransientModel):
    """Pull persons from a DCI social registry into attendance subscribers.

    *Preview* fetches the pages (at most ``PREVIEW_MAX_PAGES``) and reports
    what would be created, updated, left unchanged and skipped (with the
    reason per skipped record), writing nothing: exactly what the import will
    do when the registry fits in those pages, at least that otherwise
    (``partial``). *Import* applies it, in this request or in the background, and
    keeps the outcome as an import log. Both follow the registry's pagination
    with the same ``tools.dci.Pager``, so they read the same pages.
    """

    _name = "spp.attendance.registry.import.wizard"
    _description = "Registry Import"

    state = fields.Selection(
        [("draft", "Configure"), ("preview", "Preview")], default="draft"
    )
    source_url = fields.Char(string="Registry", readonly=True)
    mapping_preset = fields.Char(string="Mapping", readonly=True)
    page_size = fields.Integer(readonly=True)
    registry_page_size = fields.Integer(
        readonly=True,
        help="The page size the registry reported as its own, when it differs "
        "from the one asked for (its page cap).",
    )
    received_count = fields.Integer(string="Persons Received", readonly=True)
    create_count = fields.Integer(string="To Create", readonly=True)
    update_count = fields.Integer(string="To Update", readonly=True)
    unchanged_count = fields.Integer(string="Unchanged", readonly=True)
    skip_count = fields.Integer(string="To Skip", readonly=True)
    pages_count = fields.Integer(string="Pages Read", readonly=True)
    registry_total = fields.Integer(
        readonly=True, help="Persons the registry reported."
    )
    skip_summary = fields.Text(string="Skipped, by Reason", readonly=True)
    partial = fields.Boolean(
        string="Partial Preview",
        readonly=True,
        help="The preview stopped at its page limit: the registry has more pages, "
        "which only the import reads. The counts are a lower bound.",
    )
    preview_max_pages = fields.Integer(
        string="Preview Page Limit",
        readonly=True,
        help="The most pages a preview reads.",
    )
    line_ids = fields.One2many(
        "spp.attendance.registry.import.preview.line", "wizard_id", string="Preview"
    )
    skipped_line_ids = fields.One2many(
        "spp.attendance.registry.import.preview.line",
        "wizard_id",
        string="Skipped Records",
        domain=[("action", "=", "skip")],
    )
    run_in_background = fields.Boolean(
        help="Import page by page in a scheduled action, committing each page; "
        "progress shows on the import log. Recommended for large registries."
    )
    log_id = fields.Many2one("spp.attendance.import.log", readonly=True)

    @api.model
    def default_get(self, fields_list):
        res = super().default_get(fields_list)
        Log = self.env["spp.attendance.import.log"]
        params = Log._registry_params()
        res.setdefault("source_url", Log._source_url(params))
        preset = (
            self.env["ir.config_parameter"]
            .sudo()
            .get_param("spp_attendance.registry_mapping_preset", "dci")
        )
        res.setdefault(
            "mapping_preset",
            dict(self._preset_labels()).get(preset, preset),
        )
        return res

    @api.model
    def _preset_labels(self):
        return [
            ("dci", _("DCI Social Registry v1.0.0")),
            ("legacy", _("Legacy OpenSPP / OpenCRVS")),
            ("custom", _("Custom")),
        ]

    def _reopen(self):
        return {
            "type": "ir.actions.act_window",
            "res_model": self._name,
            "res_id": self.id,
            "view_mode": "form",
            "target": "new",
            "name": _("Import from Registry"),
        }

    @api.model
    def _preview_max_pages(self):
        value = (
            self.env["ir.config_parameter"]
            .sudo()
            .get_param(PREVIEW_MAX_PAGES_PARAM, "")
        )
        try:
            return max(1, int(value))
        except ValueError:
            return PREVIEW_MAX_PAGES

    def action_preview(self):
        """Dry run over the first pages (every page when the registry has at
        most ``PREVIEW_MAX_PAGES``); nothing is written but this wizard."""
        self.ensure_one()
        Log = self.env["spp.attendance.import.log"]
        client = Log._registry_client()
        pager = client.pager()
        max_pages = self._preview_max_pages()
        partial = False
        known = {}
        totals = Counter()
        reasons = Counter()
        rows, skipped_rows = [], 0
        received = 0
        try:
            for page in client.iter_pages(pager=pager):
                received += len(page.records)
                entries = Log._plan_records(page.records, client.mapping, known)
                for entry in entries:
                    totals[entry["action"]] += 1
                    if entry["action"] == "skip":
                        reasons[entry["reason"]] += 1
                        if len(rows) < PREVIEW_ROWS or skipped_rows < PREVIEW_ROWS:
                            rows.append(
                                self._preview_line(entry, page.number, len(rows))
                            )
                            skipped_rows += 1
                    elif len(rows) < PREVIEW_ROWS:
                        rows.append(self._preview_line(entry, page.number, len(rows)))
                if not pager.done and pager.pages >= max_pages:
                    partial = True  # the import will read the rest
                    break
        except dci.DCIError as err:
            raise UserError(
                _(
                    "The registry preview failed on page %(page)s: %(error)s",
                    page=pager.number,
                    error=err.message,
                )
            )
        labels = dict(SKIP_REASON_SELECTION)
        self.line_ids.unlink()
        self.write(
            {
                "state": "preview",
                "source_url": client.search_url,
                "page_size": client.page_size,
                "registry_page_size": pager.registry_size or 0,
                "received_count": received,
                "create_count": totals["create"],
                "update_count": totals["update"],
                "unchanged_count": totals["unchanged"],
                "skip_count": totals["skip"],
                "pages_count": pager.pages,
                "registry_total": pager.total or 0,
                "skip_summary": "\n".join(
                    f"{labels.get(reason, reason)}: {count}"
                    for reason, count in reasons.most_common()
                ),
                "partial": partial,
                "preview_max_pages": max_pages,
                "run_in_background": partial or received > BACKGROUND_THRESHOLD,
                "line_ids": [fields.Command.create(row) for row in rows],
            }
        )
        return self._reopen()

    @api.model
    def _preview_line(self, entry, page_number, sequence):
        values = entry.get("values") or {}
        line = {
            "sequence": sequence,
            "page": page_number,
            "action": entry["action"],
            "person_identifier": entry.get("identifier") or False,
            "reason": entry.get("reason") or False,
            "detail": entry.get("detail") or False,
        }
        for fname in IMPORT_FIELDS:
            line[fname] = values.get(fname) or False
        if entry.get("changes"):
            old = entry.get("old") or {}
            line["changes"] = "; ".join(
                f"{fname}: {old.get(fname) or ''} > {value}"
                for fname, value in entry["changes"].items()
            )[:500]
        return line

    def action_import(self):
        """Import now, or queue the job of its first page (each page job
        queues the next)."""
        self.ensure_one()
        Log = self.env["spp.attendance.import.log"]
        log = Log._start(background=self.run_in_background)
        self.log_id = log
        if log.background:
            log._enqueue_page()
        else:
            log._run()
        return {
            "type": "ir.actions.act_window",
            "res_model": log._name,
            "res_id": log.id,
            "view_mode": "form",
            "target": "current",
            "name": log.name,
        }
