"""The product as a user meets it: a running Odoo server over real HTTP."""

import requests


def test_back_office_login_page(odoo_server):
    response = odoo_server.get("/web/login")
    assert response.status_code == 200
    assert "Log in" in response.text


def test_admin_logs_in_and_both_addons_are_installed(odoo_server):
    session = requests.Session()
    rpc = odoo_server.url + "/web/session/authenticate"
    login = session.post(
        rpc,
        json={
            "jsonrpc": "2.0",
            "params": {"db": odoo_server.db, "login": "admin", "password": "admin"},
        },
        timeout=30,
    ).json()
    assert login["result"]["uid"], login
    menus = session.post(
        odoo_server.url + "/web/dataset/call_kw",
        json={
            "jsonrpc": "2.0",
            "params": {
                "model": "ir.module.module",
                "method": "search_read",
                "args": [[("name", "in", ["spp_oauth", "spp_attendance"])]],
                "kwargs": {"fields": ["name", "state"]},
            },
        },
        timeout=30,
    ).json()
    states = {m["name"]: m["state"] for m in menus["result"]}
    assert states == {"spp_oauth": "installed", "spp_attendance": "installed"}
