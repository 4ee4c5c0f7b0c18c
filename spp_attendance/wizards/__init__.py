from . import (
    attendance_participation_wizard,
    attendance_uniqueness_wizard,
    registry_import_preview_line,
    registry_import_wizard,
)
