"""Deterministic demo attendance, created by ``demo/attendance_demo.xml``
(through ``spp.attendance.list._create_demo_records``)."""

from dateutil.relativedelta import relativedelta

from odoo import fields


def create_demo_records(env, weeks=6):
    """Create demo attendance for the demo subscribers.

    One record per demo subscriber per weekday over the last ``weeks`` weeks,
    so that every uniqueness combination that includes the date holds. Does
    nothing when demo records exist already.
    """
    Attendance = env["spp.attendance.list"]
    if Attendance.with_context(active_test=False).search_count(
        [("submission_source", "=", "Demo")], limit=1
    ):
        return Attendance
    ref = env.ref
    subscribers = [
        ref(f"spp_attendance.demo_subscriber_{i:02d}", raise_if_not_found=False)
        for i in range(1, 21)
    ]
    subscribers = [subscriber for subscriber in subscribers if subscriber]
    types = [
        ref("spp_attendance.demo_type_training"),
        ref("spp_attendance.demo_type_meeting"),
        ref("spp_attendance.demo_type_distribution"),
        ref("spp_attendance.demo_type_health"),
        ref("spp_attendance.demo_type_training"),
    ]
    locations = [
        ref("spp_attendance.demo_location_hall"),
        ref("spp_attendance.demo_location_center"),
        ref("spp_attendance.demo_location_school"),
    ]
    today = fields.Date.context_today(Attendance)
    start = today - relativedelta(weeks=weeks, weekday=0)
    vals_list = []
    for day_index in range((today - start).days + 1):
        day = start + relativedelta(days=day_index)
        if day.weekday() > 4:
            continue
        for index, subscriber in enumerate(subscribers):
            # deterministic pattern: ~80% present, ~10% absent, ~10% no record
            roll = (index * 7 + day.toordinal() * 3) % 10
            if roll == 9:
                continue
            vals_list.append(
                {
                    "subscriber_id": subscriber.id,
                    "attendance_category": Attendance.ABSENT
                    if roll == 8
                    else Attendance.PRESENT,
                    "attendance_type_id": types[day.weekday()].id,
                    "attendance_location_id": locations[index % 3].id,
                    "attendance_date": day,
                    "attendance_time": "%02d:%02d:00"
                    % (8 + index % 3, (index * 5) % 60),
                    "submitted_by": "Demo field officer",
                    "submission_source": "Demo",
                }
            )
    return Attendance.create(vals_list)
