/** @odoo-module **/

import { registry } from "@web/core/registry";
import { stepUtils } from "@web_tour/tour_service/tour_utils";

/**
 * The attendance calendar on a dense month (data created by
 * spp_attendance/tests/test_calendar_tour.py: 3 types x 4 locations x 28 days,
 * 15 records per day and session, 5,040 records). The calendar shows one entry
 * per day and session: exactly 28 x 12 = 336 entries, however many records.
 * Opening an entry opens its form; its button lists the session's records.
 */
const DAYS = 28;
const SESSIONS = 3 * 4;
const RECORDS_PER_SESSION = 15;

function assertCount(selector, expected, what) {
    const found = document.querySelectorAll(selector).length;
    if (found !== expected) {
        throw new Error(`${what}: expected ${expected}, found ${found}`);
    }
}

registry.category("web_tour.tours").add("spp_attendance_calendar_tour", {
    test: true,
    url: "/web",
    steps: () => [
        ...stepUtils.goToAppSteps("spp_attendance.menu_root", "Open the Attendance app"),
        {
            content: "Open the attendance calendar",
            trigger: '.o_main_navbar a[data-menu-xmlid="spp_attendance.menu_attendance_calendar"], .o_main_navbar button[data-menu-xmlid="spp_attendance.menu_attendance_calendar"]',
        },
        {
            content: "The month of the test data is shown, with its entries",
            trigger: '.o_calendar_renderer .fc-event:contains("present")',
            isCheck: true,
        },
        {
            content: "One entry per day and session, no more",
            trigger: ".o_calendar_renderer .fc-event",
            run: () => {
                assertCount(".o_calendar_renderer .fc-event", DAYS * SESSIONS, "calendar entries");
                for (const event of document.querySelectorAll(".o_calendar_renderer .fc-event")) {
                    if (!/@ .*: \d+ present, \d+ absent/.test(event.textContent)) {
                        throw new Error(`unexpected entry title: ${event.textContent}`);
                    }
                }
            },
        },
        {
            content: "Open an entry",
            trigger: '.o_calendar_renderer .fc-event:contains("Cal Type A @ Cal Location 1")',
        },
        {
            content: "Open its form",
            trigger: ".o_cw_popover_edit",
        },
        {
            content: "The form shows the session's counts; list its records",
            trigger: ".o_statusbar_buttons button[name=action_view_records]",
            extra_trigger: ".o_form_view .o_field_widget[name=present_count]",
        },
        {
            content: "The records of that day and session are listed",
            trigger: ".o_list_renderer .o_data_row:contains(Cal Type A):contains(Cal Location 1)",
            run: () => {
                assertCount(".o_list_renderer .o_data_row", RECORDS_PER_SESSION, "records of the session");
            },
        },
    ],
});
