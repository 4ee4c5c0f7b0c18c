from lxml import etree

from odoo.exceptions import AccessError
from odoo.tests import new_test_user, tagged

from .common import AttendanceCase

MODELS = (
    "spp.attendance.subscriber",
    "spp.attendance.list",
    "spp.attendance.type",
    "spp.attendance.location",
)


@tagged("post_install", "-at_install")
class TestAccessRights(AttendanceCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.subscriber = cls.create_subscriber("SEC-1")
        cls.record = cls.Attendance.create(
            {
                "subscriber_id": cls.subscriber.id,
                "attendance_type_id": cls.training.id,
                "attendance_location_id": cls.hall.id,
            }
        )
        cls.records = {
            "spp.attendance.subscriber": cls.subscriber,
            "spp.attendance.list": cls.record,
            "spp.attendance.type": cls.training,
            "spp.attendance.location": cls.hall,
        }

    def test_admin_is_manager_and_manager_implies_viewer(self):
        admin = self.env.ref("base.user_admin")
        self.assertTrue(admin.has_group("spp_attendance.group_attendance_manager"))
        self.assertTrue(
            self.manager.has_group("spp_attendance.group_attendance_viewer")
        )
        self.assertFalse(
            self.viewer.has_group("spp_attendance.group_attendance_manager")
        )

    def test_viewer_reads_only(self):
        for model in MODELS:
            Model = self.env[model].with_user(self.viewer)
            self.assertTrue(Model.search([("id", "=", self.records[model].id)]), model)
            record = self.records[model].with_user(self.viewer)
            record.read(["display_name"])
            with self.assertRaises(AccessError, msg=model):
                record.write({"active": False})
            with self.assertRaises(AccessError, msg=model):
                record.unlink()
        with self.assertRaises(AccessError):
            self.Subscriber.with_user(self.viewer).create(
                {"person_identifier": "SEC-X", "family_name": "X"}
            )
        with self.assertRaises(AccessError):
            self.Attendance.with_user(self.viewer).create(
                {"subscriber_id": self.subscriber.id}
            )
        with self.assertRaises(AccessError):
            self.Type.with_user(self.viewer).create({"name": "Viewer type"})
        # viewers see the statistics and the history
        subscriber = self.subscriber.with_user(self.viewer)
        self.assertEqual(subscriber.attendance_count, 1)
        self.assertEqual(subscriber.get_attendance_summary()["total"], 1)

    def test_manager_full_access(self):
        Subscriber = self.Subscriber.with_user(self.manager)
        subscriber = Subscriber.create(
            {"person_identifier": "SEC-2", "family_name": "Manager", "email": "m@x.org"}
        )
        record = self.Attendance.with_user(self.manager).create(
            {"subscriber_id": subscriber.id}
        )
        new_type = self.Type.with_user(self.manager).create({"name": "Manager type"})
        new_location = self.Location.with_user(self.manager).create(
            {"name": "Manager location", "tz": "Europe/Paris"}
        )
        record.write(
            {
                "attendance_type_id": new_type.id,
                "attendance_location_id": new_location.id,
            }
        )
        subscriber.write({"family_name": "Renamed", "phone": "123"})
        self.assertEqual(subscriber.partner_id.name, "Renamed")
        record.unlink()
        subscriber.unlink()
        new_type.unlink()
        new_location.unlink()

    def test_internal_user_outside_groups(self):
        for model in MODELS:
            with self.assertRaises(AccessError, msg=model):
                self.env[model].with_user(self.internal).search([])
            with self.assertRaises(AccessError, msg=model):
                self.records[model].with_user(self.internal).read(["display_name"])

    def test_menus(self):
        root = self.env.ref("spp_attendance.menu_root")
        configuration = self.env.ref("spp_attendance.menu_configuration")
        settings = self.env.ref("spp_attendance.menu_attendance_settings")
        Menu = self.env["ir.ui.menu"]
        internal_menus = Menu.with_user(self.internal)._visible_menu_ids()
        viewer_menus = Menu.with_user(self.viewer)._visible_menu_ids()
        admin_menus = Menu.with_user(
            self.env.ref("base.user_admin")
        )._visible_menu_ids()
        self.assertNotIn(root.id, internal_menus)
        self.assertIn(root.id, viewer_menus)
        self.assertIn(configuration.id, viewer_menus)
        self.assertNotIn(settings.id, viewer_menus)
        self.assertIn(settings.id, admin_menus)
        for xmlid in (
            "spp_attendance.menu_subscribers",
            "spp_attendance.menu_attendance_records",
            "spp_attendance.menu_attendance_types",
            "spp_attendance.menu_attendance_locations",
        ):
            self.assertIn(self.env.ref(xmlid).id, viewer_menus, xmlid)

    def test_list_editable_for_managers_only(self):
        def list_arch(user):
            views = self.Attendance.with_user(user).get_views([(False, "list")])
            return etree.fromstring(views["views"]["list"]["arch"])

        manager_arch = list_arch(self.manager)
        viewer_arch = list_arch(self.viewer)
        self.assertEqual(manager_arch.get("editable"), "bottom")
        self.assertIsNone(manager_arch.get("edit"))
        self.assertEqual(viewer_arch.get("edit"), "False")
        self.assertEqual(viewer_arch.get("create"), "False")

    def test_export(self):
        exporter = new_test_user(
            self.env,
            login="att_exporter",
            groups="spp_attendance.group_attendance_viewer,base.group_allow_export",
        )
        rows = self.record.with_user(exporter).export_data(
            [
                "subscriber_id/person_identifier",
                "attendance_date",
                "attendance_time",
                "attendance_category",
                "attendance_type_id/name",
                "attendance_location_id/name",
            ]
        )["datas"]
        self.assertEqual(rows[0][0], "SEC-1")
        self.assertEqual(rows[0][3], "Present")
        self.assertEqual(rows[0][4:], ["Test Training", "Test Hall"])


@tagged("post_install", "-at_install")
class TestMultiCompany(AttendanceCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.company_b = cls.env["res.company"].create({"name": "Attendance Co B"})
        cls.sub_a = cls.create_subscriber("MC-A")
        cls.sub_b = cls.create_subscriber("MC-B", company_id=cls.company_b.id)
        cls.rec_a = cls.Attendance.create({"subscriber_id": cls.sub_a.id})
        cls.rec_b = cls.Attendance.create({"subscriber_id": cls.sub_b.id})
        cls.manager_a = new_test_user(
            cls.env,
            login="att_manager_a",
            groups="spp_attendance.group_attendance_manager",
            company_id=cls.company.id,
            company_ids=[(6, 0, cls.company.ids)],
        )
        cls.manager_ab = new_test_user(
            cls.env,
            login="att_manager_ab",
            groups="spp_attendance.group_attendance_manager",
            company_id=cls.company.id,
            company_ids=[(6, 0, (cls.company | cls.company_b).ids)],
        )

    def test_records_follow_subscriber_company(self):
        self.assertEqual(self.rec_b.company_id, self.company_b)
        self.assertEqual(self.sub_b.partner_id.company_id, self.company_b)

    def test_company_data_kept_apart(self):
        Subscriber = self.Subscriber.with_user(self.manager_a)
        Attendance = self.Attendance.with_user(self.manager_a)
        found = Subscriber.search([("person_identifier", "in", ["MC-A", "MC-B"])])
        self.assertEqual(found, self.sub_a)
        self.assertEqual(
            Attendance.search([("id", "in", (self.rec_a | self.rec_b).ids)]), self.rec_a
        )
        with self.assertRaises(AccessError):
            self.sub_b.with_user(self.manager_a).read(["name"])
        with self.assertRaises(AccessError):
            self.rec_b.with_user(self.manager_a).write(
                {"attendance_category": "absent"}
            )
        # the other company's partner stays private as well
        with self.assertRaises(AccessError):
            self.sub_b.partner_id.with_user(self.manager_a).read(["name"])

    def test_user_of_both_companies(self):
        both = (self.company | self.company_b).ids
        Subscriber = self.Subscriber.with_user(self.manager_ab).with_context(
            allowed_company_ids=both
        )
        found = Subscriber.search([("person_identifier", "in", ["MC-A", "MC-B"])])
        self.assertEqual(found, self.sub_a | self.sub_b)
        # with only company A active, B's data is hidden again
        only_a = self.Subscriber.with_user(self.manager_ab).with_context(
            allowed_company_ids=self.company.ids
        )
        self.assertEqual(
            only_a.search([("person_identifier", "in", ["MC-A", "MC-B"])]), self.sub_a
        )
        record = (
            self.Attendance.with_user(self.manager_ab)
            .with_context(allowed_company_ids=both)
            .create({"subscriber_id": self.sub_b.id})
        )
        self.assertEqual(record.company_id, self.company_b)


@tagged("post_install", "-at_install")
class TestSettingsPage(AttendanceCase):
    def test_settings_block_and_action(self):
        arch = self.env["res.config.settings"].get_views([(False, "form")])["views"][
            "form"
        ]["arch"]
        tree = etree.fromstring(arch)
        self.assertTrue(tree.xpath("//app[@name='spp_attendance']"))
        self.assertTrue(tree.xpath("//block[@name='spp_attendance_uniqueness']"))
        self.assertTrue(tree.xpath("//block[@name='spp_attendance_registry_import']"))
        for fname in (
            "attendance_date_unique",
            "attendance_time_unique",
            "attendance_type_unique",
            "attendance_location_unique",
        ):
            self.assertTrue(tree.xpath("//field[@name='%s']" % fname), fname)
        action = self.env.ref("spp_attendance.action_attendance_settings")
        self.assertEqual(
            action.context, "{'module': 'spp_attendance', 'bin_size': False}"
        )
