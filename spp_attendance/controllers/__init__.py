from . import attendance_api, auth
