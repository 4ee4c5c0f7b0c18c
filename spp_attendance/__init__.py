from . import controllers, models, wizards
from .models.attendance_list_uniqueness import install_log_filter
from .models.attendance_summary_fold import uninstall_hook
from .tools.gc_thresholds import raise_gc_thresholds

# Keep odoo.sql_db from logging the unique violations the models answer
# (see install_log_filter); explicit here rather than a side effect of an import.
install_log_filter()
# Odoo 18's collector thresholds (see raise_gc_thresholds): the worker's
# process is Odoo's, so this is explicit here, once, not hidden in an import.
raise_gc_thresholds()
