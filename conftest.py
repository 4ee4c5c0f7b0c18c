"""Project-wide pytest rules (scripts/test.sh runs pytest from the repository root).

1. A browser test (Odoo tour) that cannot start its browser is a failure, not a skip:
   Odoo raises ``SkipTest`` when Chromium or websocket-client is missing, which would
   let a broken machine pass silently.
2. Odoo's own log must be clean: an ERROR/CRITICAL line or a traceback logged by Odoo
   during the install or the tests fails the run. This check is a test item that runs
   last, so it is counted in pytest's summary line.
"""

import os
import re
from pathlib import Path

import pytest

BROWSER_SKIP = re.compile(r"chrome|chromium|websocket|devtools|browser", re.IGNORECASE)
ODOO_ERROR = re.compile(
    r"^\S+ \S+ \d+ (ERROR|CRITICAL) |^Traceback \(most recent call last\)"
)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    if report.skipped and call.excinfo is not None:
        reason = str(call.excinfo.value)
        if BROWSER_SKIP.search(reason):
            report.outcome = "failed"
            report.longrepr = (
                f"browser test could not run (it must not be skipped): {reason}"
            )


class OdooLogCheck(pytest.Item):
    """Fails when an Odoo log of this run holds an error or a traceback."""

    def runtest(self):
        log_dir = os.environ.get("SPP_TEST_LOG_DIR")
        if not log_dir:
            pytest.skip("SPP_TEST_LOG_DIR not set: run through scripts/test.sh")
        problems = []
        for path in sorted(Path(log_dir).glob("*.log")):
            lines = path.read_text(errors="replace").splitlines()
            for number, line in enumerate(lines, 1):
                if ODOO_ERROR.search(line):
                    context = "\n    ".join(lines[number - 1 : number + 12])
                    problems.append(f"{path.name}:{number}:\n    {context}")
        if problems:
            raise AssertionError(
                "Odoo logged errors during the run:\n" + "\n".join(problems[:20])
            )

    def reportinfo(self):
        return self.path, None, "Odoo server log is clean"


def pytest_collection_modifyitems(session, config, items):
    if os.environ.get("SPP_TEST_LOG_DIR"):
        items.append(OdooLogCheck.from_parent(session, name="odoo_log_is_clean"))
