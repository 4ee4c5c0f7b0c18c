from . import registry_import_preview_line, registry_import_wizard
