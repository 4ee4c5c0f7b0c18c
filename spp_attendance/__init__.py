from . import controllers, models, wizards
from .models.attendance_list_uniqueness import install_log_filter
from .models.attendance_summary_fold import uninstall_hook

# Keep odoo.sql_db from logging the unique violations the models answer
# (see install_log_filter); explicit here rather than a side effect of an import.
install_log_filter()
