{
    "name": "SPP Attendance",
    "summary": "Program participants, their attendance records and a REST API for "
    "mobile capture apps",
    "version": "17.0.1.0.0",
    "category": "OpenSPP",
    "website": "https://github.com/OpenSPP/openspp-modules",
    "author": "OpenSPP.org",
    "maintainers": ["openspp"],
    "license": "LGPL-3",
    "development_status": "Beta",
    "depends": ["base", "mail", "spp_oauth"],
    "external_dependencies": {
        "python": ["oauthlib", "pydantic", "requests", "urllib3"]
    },
    "data": [
        "security/security.xml",
        "security/ir.model.access.csv",
        "data/api_user_data.xml",
        "security/attendance_api_security.xml",
        "views/attendance_type_views.xml",
        "views/attendance_location_views.xml",
        "views/attendance_list_views.xml",
        "views/attendance_daily_summary_views.xml",
        "views/attendance_subscriber_views.xml",
        "views/attendance_participation_views.xml",
        "wizards/attendance_participation_wizard_views.xml",
        "views/res_config_settings_views.xml",
        "views/menus.xml",
        "security/attendance_api_client_credential_security.xml",
        "views/attendance_api_client_credential_views.xml",
        "security/registry_import_security.xml",
        "data/registry_import_data.xml",
        "views/attendance_import_log_views.xml",
        "wizards/registry_import_wizard_views.xml",
        "wizards/attendance_uniqueness_wizard_views.xml",
        "views/res_config_settings_registry_views.xml",
    ],
    "demo": [
        "demo/attendance_demo.xml",
    ],
    "assets": {
        "web.assets_tests": [
            "spp_attendance/static/tests/tours/**/*",
        ],
    },
    "application": True,
    "installable": True,
}
