{
    "name": "SPP OAuth",
    "summary": "Signing keys, JWT issuing/verification and bearer-token route "
    "authentication for OpenSPP APIs",
    "version": "17.0.1.0.0",
    "category": "OpenSPP",
    "website": "https://github.com/OpenSPP/openspp-modules",
    "author": "OpenSPP.org",
    "maintainers": ["openspp"],
    "license": "LGPL-3",
    "development_status": "Beta",
    "depends": ["base"],
    "external_dependencies": {"python": ["pyjwt", "cryptography", "passlib"]},
    "data": [
        "security/ir.model.access.csv",
        "data/spp_oauth_data.xml",
        "views/oauth_key_views.xml",
    ],
    "installable": True,
}
