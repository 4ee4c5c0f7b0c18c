# ruff: noqa: I001  (order matters: a model must be loaded before the ones inheriting it)
from . import attendance_type
from . import attendance_location
from . import attendance_subscriber
from . import attendance_list
from . import attendance_daily_summary
from . import attendance_api_client_credential
from . import attendance_show_credential_wizard
from . import attendance_import_log
from . import attendance_import_log_issue
from . import ir_config_parameter
from . import res_config_settings
from . import ir_http
