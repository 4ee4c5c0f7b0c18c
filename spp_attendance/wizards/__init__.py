from . import (
    attendance_uniqueness_wizard,
    registry_import_preview_line,
    registry_import_wizard,
)
