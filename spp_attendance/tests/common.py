from odoo.tests import TransactionCase, new_test_user


def daily_aggregate(where="TRUE"):
    """SQL of the daily summary computed straight from the active records (the
    oracle the summary models are checked against); ``where``: more conditions
    on the records."""
    return f"""
    SELECT MIN(id), attendance_date, attendance_type_id, attendance_location_id,
           company_id,
           COUNT(*) FILTER (WHERE attendance_category = 'present'),
           COUNT(*) FILTER (WHERE attendance_category = 'absent'),
           COUNT(*), COUNT(DISTINCT subscriber_id)
      FROM spp_attendance_list
     WHERE active AND {where}
  GROUP BY attendance_date, attendance_type_id, attendance_location_id, company_id
"""


UNIQUE_PARAMS = {
    "date": "spp_attendance.date_unique",
    "time": "spp_attendance.time_unique",
    "type": "spp_attendance.type_unique",
    "location": "spp_attendance.location_unique",
}


class AttendanceCase(TransactionCase):
    """Users, types, locations and helpers shared by the attendance tests."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.env = cls.env(context=dict(cls.env.context, tz="UTC"))
        cls.Subscriber = cls.env["spp.attendance.subscriber"]
        cls.Attendance = cls.env["spp.attendance.list"]
        cls.Type = cls.env["spp.attendance.type"]
        cls.Location = cls.env["spp.attendance.location"]
        cls.ICP = cls.env["ir.config_parameter"].sudo()
        # no uniqueness rule unless a test sets one
        for param in UNIQUE_PARAMS.values():
            cls.ICP.set_param(param, False)
        cls.company = cls.env.company
        cls.company.partner_id.tz = "UTC"
        cls.env.user.tz = "UTC"
        cls.manager = new_test_user(
            cls.env,
            login="att_manager",
            groups="spp_attendance.group_attendance_manager",
            tz="UTC",
        )
        cls.viewer = new_test_user(
            cls.env,
            login="att_viewer",
            groups="spp_attendance.group_attendance_viewer",
            tz="UTC",
        )
        cls.internal = new_test_user(
            cls.env, login="att_internal", groups="base.group_user", tz="UTC"
        )
        cls.training = cls.Type.create({"name": "Test Training"})
        cls.meeting = cls.Type.create({"name": "Test Meeting"})
        cls.hall = cls.Location.create({"name": "Test Hall"})
        cls.nairobi = cls.Location.create(
            {"name": "Test Nairobi Centre", "tz": "Africa/Nairobi"}
        )
        cls.new_york = cls.Location.create(
            {"name": "Test New York Office", "tz": "America/New_York"}
        )

    @classmethod
    def create_subscriber(cls, identifier, family="Doe", given="Jane", **vals):
        return cls.Subscriber.create(
            dict(
                vals,
                person_identifier=identifier,
                family_name=family,
                given_name=given,
            )
        )

    def set_uniqueness(self, *flags, direct=False):
        """Set the uniqueness parameters.

        ``direct``: one ``set_param`` after the other, as a script would (each
        one applies its intermediate rule). Otherwise all four change at once
        and the rule is applied once, as the Settings page does.
        """
        ICP = (
            self.ICP
            if direct
            else self.ICP.with_context(spp_attendance_defer_uniqueness=True)
        )
        for name, param in UNIQUE_PARAMS.items():
            ICP.set_param(param, "True" if name in flags else False)
        if not direct:
            self.Attendance.sudo()._apply_uniqueness_settings()

    def count_queries(self, function, *args, **kwargs):
        """Run ``function`` on a cold cache; return (result, number of queries)."""
        self.env.flush_all()
        self.env.invalidate_all()
        before = self.cr.sql_log_count
        result = function(*args, **kwargs)
        self.env.flush_all()
        return result, self.cr.sql_log_count - before

    def archive_all_attendance(self):
        """Keep demo data out of the way of uniqueness tests."""
        self.Attendance.search([]).write({"active": False})
