#!/usr/bin/env bash
# Lint and style: ruff (lint + format check), pylint-odoo (mandatory rule set in .pylintrc)
# and XML well-formedness of every data file. Exits non-zero on any finding.
source "$(dirname "$0")/lib.sh"
ensure_python_env "$ROOT/requirements.txt" "$ROOT/requirements-test.txt"
cd "$ROOT"
ADDONS=(spp_oauth spp_attendance)
STATUS=0
log "ruff check";          "$VENV/bin/ruff" check . || STATUS=1
log "ruff format --check"; "$VENV/bin/ruff" format --check . || STATUS=1
log "pylint-odoo";         "$VENV/bin/pylint" --rcfile=.pylintrc "${ADDONS[@]}" || STATUS=1
log "XML well-formedness"
"$PY" - "${ADDONS[@]}" <<'PYEOF' || STATUS=1
import sys
from pathlib import Path
from lxml import etree
bad = 0
for addon in sys.argv[1:]:
    for path in sorted(Path(addon).rglob("*.xml")):
        try:
            etree.parse(str(path))
        except etree.XMLSyntaxError as exc:
            print(f"{path}: {exc}")
            bad += 1
sys.exit(1 if bad else 0)
PYEOF
[ "$STATUS" = 0 ] && log "lint passed" || log "lint failed"
exit "$STATUS"
