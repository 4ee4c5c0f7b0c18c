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
    "depends": ["base", "spp_oauth"],
    "external_dependencies": {"python": ["jwt", "passlib", "cryptography"]},
    "data": [],
    "demo": [],
    "application": True,
    "installable": True,
}
