from odoo.tests import TransactionCase, new_test_user, tagged


@tagged("post_install", "-at_install")
class TestEveryMenuOpens(TransactionCase):
    """Every menu of the Attendance app that a user sees opens for that user: its
    action's views load and its first page reads without an access error. Catches a
    menu shown to a group that lacks the rights of its model, a view referring to a
    field the user may not read, or an action pointing at nothing."""

    def _menus_of(self, user):
        root = self.env.ref("spp_attendance.menu_root")
        menus = (
            self.env["ir.ui.menu"].with_user(user).search([("id", "child_of", root.id)])
        )
        return menus.filtered("action")

    def _open(self, user, menu):
        action = menu.action.sudo()
        if action._name == "ir.actions.client":
            return action.tag
        self.assertEqual(action._name, "ir.actions.act_window", menu.complete_name)
        model = self.env[action.res_model].with_user(user)
        view_types = [mode for mode in action.view_mode.split(",") if mode]
        views = model.get_views([(False, view_type) for view_type in view_types])
        self.assertEqual(set(views["views"]), set(view_types), menu.complete_name)
        if "tree" in view_types:
            fields = [
                name
                for name in views["models"][action.res_model]
                if name in model._fields
            ]
            model.search_read([], fields, limit=1)
        return action.res_model

    def test_every_visible_menu_opens(self):
        users = {
            "viewer": new_test_user(
                self.env,
                login="smoke_viewer",
                groups="spp_attendance.group_attendance_viewer",
            ),
            "manager": new_test_user(
                self.env,
                login="smoke_manager",
                groups="spp_attendance.group_attendance_manager",
            ),
            "admin": self.env.ref("base.user_admin"),
        }
        opened = {}
        for role, user in users.items():
            menus = self._menus_of(user)
            self.assertTrue(menus, f"the {role} sees no menu of the app")
            for menu in menus:
                with self.subTest(role=role, menu=menu.complete_name):
                    opened.setdefault(role, set()).add(self._open(user, menu))
        # what each role reaches, at least
        self.assertLessEqual(
            {"spp.attendance.subscriber", "spp.attendance.list"}, opened["viewer"]
        )
        self.assertLessEqual(
            {"spp.attendance.type", "spp.attendance.location"}, opened["manager"]
        )
        self.assertLessEqual(opened["viewer"], opened["manager"])
