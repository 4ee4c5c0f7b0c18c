"""The product as a user meets it: a running Odoo server over real HTTP."""


def test_back_office_login_page(odoo_server):
    response = odoo_server.get("/web/login")
    assert response.status_code == 200
    assert "Log in" in response.text


def test_admin_opens_every_menu_of_the_attendance_app(odoo_server):
    """What the web client does when the admin opens the app: load the menus, then
    each menu's action, then the first page of its list."""
    session = odoo_server.admin_session()
    response = session.get(odoo_server.url + "/web/webclient/load_menus/1", timeout=300)
    assert response.status_code == 200, response.text[:300]
    menus = response.json()
    app = next(
        (m for m in menus.values() if m.get("xmlid") == "spp_attendance.menu_root"),
        None,
    )
    assert app, "the Attendance app is not in the admin's menus"

    def descendants(menu):
        for child_id in menu["children"]:
            child = menus[str(child_id)]
            yield child
            yield from descendants(child)

    opened = set()
    for menu in descendants(app):
        if not menu.get("actionID"):
            continue
        action = session.post(
            odoo_server.url + "/web/action/load",
            json={"jsonrpc": "2.0", "params": {"action_id": menu["actionID"]}},
            timeout=300,
        ).json()
        assert "error" not in action, (menu["name"], action.get("error"))
        action = action["result"]
        if action["type"] != "ir.actions.act_window":
            continue
        odoo_server.rpc(
            action["res_model"],
            "web_search_read",
            action.get("domain") or [],
            specification={"display_name": {}},
            limit=1,
            session=session,
        )
        opened.add(action["res_model"])
    assert {"spp.attendance.subscriber", "spp.attendance.list"} <= opened, opened
