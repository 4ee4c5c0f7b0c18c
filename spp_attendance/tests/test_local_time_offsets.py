"""Wall-clock times read through the per-hour offsets (``regular_offset``) give
exactly what ``pytz`` gives, in every time zone, around every change of offset."""

import random
from datetime import datetime, timedelta

import pytz

from odoo.tests import TransactionCase

from ..models.attendance_list_local_time import regular_offset

#: Changes of offset checked, by their UTC moment.
SINCE, UNTIL = datetime(2022, 1, 1), datetime(2027, 1, 1)
#: Wall-clock times checked around each change, in minutes from it.
AROUND = (-61, -60, -31, -30, -1, 0, 1, 30, 31, 60, 61)


def by_pytz(local, tz_name):
    """The stored moment and the local date and time it reads back as, with
    ``pytz`` alone (what the model computes record by record)."""
    tz = pytz.timezone(tz_name)
    utc = tz.localize(local, is_dst=False).astimezone(pytz.utc).replace(tzinfo=None)
    back = pytz.utc.localize(utc).astimezone(tz)
    return utc, back.date(), back.strftime("%H:%M:%S")


def moments_around_changes(tz_name):
    tz = pytz.timezone(tz_name)
    times = getattr(tz, "_utc_transition_times", [])
    infos = getattr(tz, "_transition_info", [])
    for index, change in enumerate(times):
        if not SINCE <= change < UNTIL or index == 0:
            continue
        for offset in (infos[index - 1][0], infos[index][0]):
            wall = change + offset
            for minutes in AROUND:
                moment = wall + timedelta(minutes=minutes)
                yield moment
                yield moment - timedelta(seconds=1)


class TestLocalTimeOffsets(TransactionCase):
    def test_every_zone_around_every_change(self):
        Attendance = self.env["spp.attendance.list"]
        rng = random.Random(4)
        checked = irregular = 0
        regular_offset.cache_clear()
        for tz_name in pytz.all_timezones:
            moments = list(moments_around_changes(tz_name))
            moments += [
                datetime(2024, 1, 1) + timedelta(seconds=rng.randrange(366 * 86400))
                for _ in range(5)
            ]
            rng.shuffle(moments)  # hours met in any order, cached or not
            for moment in moments:
                expected = by_pytz(moment, tz_name)
                got = Attendance._wall_clock(moment, tz_name)
                if got != expected:
                    self.fail(f"{tz_name} {moment}: {got} != {expected}")
                self.assertEqual(
                    Attendance._localize(moment, tz_name=tz_name)[0], expected[0]
                )
                checked += 1
                hour = moment.replace(minute=0, second=0)
                irregular += regular_offset(tz_name, hour) is None
        # the changes were met (and read through pytz), the rest by offsets
        self.assertGreater(checked, 50_000)
        self.assertGreater(irregular, 10_000)

    def test_known_changes(self):
        """Paris skips 02:00-03:00 on 2024-03-31 and repeats 02:00-03:00 on
        2024-10-27; Lord Howe moves by half an hour."""
        Attendance = self.env["spp.attendance.list"]
        paris, lord_howe = "Europe/Paris", "Australia/Lord_Howe"
        cases = (  # zone, wall clock, UTC moment, local time read back
            (
                paris,
                datetime(2024, 3, 31, 2, 30),
                datetime(2024, 3, 31, 1, 30),
                "03:30:00",
            ),
            (
                paris,
                datetime(2024, 10, 27, 2, 30),
                datetime(2024, 10, 27, 1, 30),
                "02:30:00",
            ),
            (paris, datetime(2024, 7, 1, 8), datetime(2024, 7, 1, 6), "08:00:00"),
            (
                lord_howe,
                datetime(2024, 4, 7, 1, 45),
                datetime(2024, 4, 6, 15, 15),
                "01:45:00",
            ),
        )
        for tz_name, local, utc, local_time in cases:
            with self.subTest(tz=tz_name, local=local):
                got = Attendance._wall_clock(local, tz_name)
                self.assertEqual(got[0], utc)
                self.assertEqual(got[2], local_time)
        self.assertIsNone(regular_offset("Europe/Paris", datetime(2024, 3, 31, 2)))
        self.assertIsNone(regular_offset("Europe/Paris", datetime(2024, 10, 27, 2)))
        self.assertEqual(
            regular_offset("Europe/Paris", datetime(2024, 7, 1, 8)),
            timedelta(hours=2),
        )
