"""Shared helpers of the registry import tests: fixtures, schema, emulator,
and the base class of the tests that import into the database."""

import hashlib
import json
from pathlib import Path

from odoo.addons.queue_job.tests.common import trap_jobs

from ..tools import dci
from .common import AttendanceCase
from .dci_emulator import EXAMPLES_DIR, DCIRegistryEmulator, load_example

SCHEMA_PATH = Path(__file__).with_name("dci_search_request.schema.json")
P = "spp_attendance.registry_"
LOG_MODEL = "odoo.addons.spp_attendance.models.attendance_import_log"


def request_validator():
    """A JSON Schema validator of the DCI sync-search request (test-only
    dependency: jsonschema, from requirements-test.txt)."""
    import jsonschema

    schema = json.loads(SCHEMA_PATH.read_text())
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema)


def schema_errors(validator, body):
    return sorted(
        f"{'/'.join(str(p) for p in error.absolute_path)}: {error.message}"
        for error in validator.iter_errors(body)
    )


#: One of the DCI example messages, parsed (path relative to ``EXAMPLES_DIR``).
example = load_example


def fixture_digests():
    """``{file: (expected sha256, actual sha256)}`` for every fixture listed
    in the folder's manifest."""
    manifest = json.loads((EXAMPLES_DIR / "manifest.json").read_text())
    return {
        entry["file"]: (
            entry["sha256"],
            hashlib.sha256((EXAMPLES_DIR / entry["file"]).read_bytes()).hexdigest(),
        )
        for entry in manifest["entries"]
    }


def fixture_files():
    """The files of the fixture folder besides its manifest and README, as
    paths relative to it."""
    return sorted(
        path.relative_to(EXAMPLES_DIR).as_posix()
        for path in EXAMPLES_DIR.rglob("*")
        if path.is_file() and path.name not in ("manifest.json", "README.md")
    )


class RegistryImportCase(AttendanceCase):
    """Registry settings pointing at a DCI emulator on 127.0.0.1, and helpers
    to preview and import with the wizard."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.emulator = DCIRegistryEmulator(population=0, prefix="/dci/v1.0.0")
        cls.emulator.start()
        cls.addClassCleanup(cls.emulator.stop)
        cls.validator = request_validator()
        cls.Log = cls.env["spp.attendance.import.log"]
        cls.Wizard = cls.env["spp.attendance.registry.import.wizard"]
        cls.set_params(
            server_url=cls.emulator.url,
            client_id=cls.emulator.client_id,
            client_secret=cls.emulator.client_secret,
            page_size=100,
            timeout=5,
            token_style="form",
            token_path="access_token",
            # retries without waiting (a string: 0 would remove the parameter)
            backoff_factor="0",
            retry_after_max="0",
        )
        cls.set_mapping("dci")

    @classmethod
    def set_params(cls, **values):
        for name, value in values.items():
            cls.ICP.set_param(P + name, value or False)

    @classmethod
    def set_mapping(cls, preset, **overrides):
        paths = dict(dci.PRESETS[preset], **overrides)
        cls.set_params(**{f"{key}_path": path for key, path in paths.items()})

    def setUp(self):
        super().setUp()
        self.emulator.reset()
        self.emulator.mode = "population"
        self.emulator.shape = "dci"
        self.emulator.population = 0
        self.emulator.generation = 1
        self.emulator.defect_every = 0
        self.emulator.token_styles = ("form", "json")
        self.emulator.token_shape = "standard"

    # -- helpers -------------------------------------------------------------

    def preview(self, user=None):
        wizard = self.Wizard.with_user(user or self.env.user).create({})
        wizard.action_preview()
        return wizard

    def counts(self, record, prefix=""):
        if record._name == self.Log._name:
            names = (
                "created_count",
                "updated_count",
                "unchanged_count",
                "skipped_count",
            )
        else:
            names = ("create_count", "update_count", "unchanged_count", "skip_count")
        return tuple(record[name] for name in names)

    def import_now(self, wizard):
        action = wizard.action_import()
        return self.Log.browse(action["res_id"])

    def run_jobs(self, trap, log=None):
        """Perform the trapped jobs as the job runner would, until none is left
        (each page job queues the next); returns how many ran."""
        ran = 0
        while trap.enqueued_jobs:
            ran += len(trap.enqueued_jobs)
            trap.perform_enqueued_jobs()
        if log is not None:
            log.invalidate_recordset()
        return ran

    def import_in_background(self, wizard):
        """Start a background import and run its jobs to the end."""
        wizard.run_in_background = True
        with trap_jobs() as trap:
            log = self.import_now(wizard)
            self.run_jobs(trap, log)
        return log

    def registry_subscribers(self, prefix="UIN"):
        return self.Subscriber.with_context(active_test=False).search(
            [("person_identifier", "=like", prefix + "%")]
        )

    def assert_requests_valid(self):
        self.assertTrue(self.emulator.search_requests)
        for body in self.emulator.search_requests:
            self.assertEqual(schema_errors(self.validator, body), [])


__all__ = [
    "EXAMPLES_DIR",
    "LOG_MODEL",
    "DCIRegistryEmulator",
    "P",
    "RegistryImportCase",
    "example",
    "fixture_digests",
    "fixture_files",
    "request_validator",
    "schema_errors",
]
