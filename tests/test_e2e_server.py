"""The product as a user meets it: a running Odoo server over real HTTP."""


def test_back_office_login_page(odoo_server):
    response = odoo_server.get("/web/login")
    assert response.status_code == 200
    assert "Log in" in response.text


def test_admin_logs_in_and_both_addons_are_installed(odoo_server):
    modules = odoo_server.rpc(
        "ir.module.module",
        "search_read",
        [("name", "in", ["spp_oauth", "spp_attendance"])],
        fields=["name", "state"],
    )
    states = {m["name"]: m["state"] for m in modules}
    assert states == {"spp_oauth": "installed", "spp_attendance": "installed"}
