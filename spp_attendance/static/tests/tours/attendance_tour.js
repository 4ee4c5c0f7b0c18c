/** @odoo-module **/

import { registry } from "@web/core/registry";
import { stepUtils } from "@web_tour/tour_service/tour_utils";

/**
 * As an Attendance Manager: create a subscriber, record attendance for them in
 * the history tab, save, and find the record in the history and behind the
 * "Attendance" smart button.
 */
registry.category("web_tour.tours").add("spp_attendance_record_tour", {
    test: true,
    url: "/web",
    steps: () => [
        ...stepUtils.goToAppSteps("spp_attendance.menu_root", "Open the Attendance app"),
        {
            content: "Open the subscribers",
            trigger: '.o_main_navbar a[data-menu-xmlid="spp_attendance.menu_subscribers"], .o_main_navbar button[data-menu-xmlid="spp_attendance.menu_subscribers"]',
        },
        {
            content: "Create a subscriber",
            trigger: ".o_list_button_add",
            extra_trigger: ".o_breadcrumb:contains(Subscribers)",
        },
        {
            content: "Person identifier",
            trigger: ".o_field_widget[name=person_identifier] input",
            run: "text TOUR-0001",
        },
        {
            content: "Family name",
            trigger: ".o_field_widget[name=family_name] input",
            run: "text Tourist",
        },
        {
            content: "Given name",
            trigger: ".o_field_widget[name=given_name] input",
            run: "text Tina",
        },
        ...stepUtils.saveForm(),
        {
            content: "The name is composed from its parts",
            trigger: ".o_field_widget[name=name]:contains(Tourist, Tina)",
            isCheck: true,
        },
        {
            content: "Add an attendance line in the history",
            trigger: ".o_field_widget[name=attendance_list_ids] .o_field_x2many_list_row_add a",
        },
        {
            content: "Choose the attendance type",
            trigger: ".o_field_widget[name=attendance_list_ids] .o_data_row .o_field_widget[name=attendance_type_id] input",
            run: "text Tour Training",
        },
        {
            content: "Pick it in the dropdown",
            trigger: '.ui-menu-item a:contains("Tour Training")',
        },
        ...stepUtils.saveForm(),
        {
            content: "The record is in the history",
            trigger: '.o_field_widget[name=attendance_list_ids] .o_data_row:contains("Tour Training")',
            isCheck: true,
        },
        {
            content: "The smart button counts it; open it",
            trigger: 'button[name=action_view_attendance]:has(.o_stat_value:contains("1"))',
        },
        {
            content: "The attendance list shows the subscriber's record",
            trigger: '.o_list_renderer .o_data_row:contains("Tourist, Tina"):contains("Tour Training")',
            isCheck: true,
        },
        {
            content: "Switch to the pivot view",
            // the switcher may be folded into a dropdown on small screens:
            // click the (possibly hidden) button directly
            trigger: ".o_control_panel .o_cp_switch_buttons",
            run: () => document.querySelector("button.o_switch_view.o_pivot").click(),
        },
        {
            content: "The pivot counts the record",
            trigger: ".o_pivot table .o_pivot_cell_value",
            isCheck: true,
        },
        {
            content: "Switch to the graph view",
            // the switcher may be folded into a dropdown on small screens:
            // click the (possibly hidden) button directly
            trigger: ".o_control_panel .o_cp_switch_buttons",
            run: () => document.querySelector("button.o_switch_view.o_graph").click(),
        },
        {
            content: "The graph is drawn",
            trigger: ".o_graph_renderer canvas",
            isCheck: true,
        },
        {
            content: "Switch to the calendar view",
            // the switcher may be folded into a dropdown on small screens:
            // click the (possibly hidden) button directly
            trigger: ".o_control_panel .o_cp_switch_buttons",
            run: () => document.querySelector("button.o_switch_view.o_calendar").click(),
        },
        {
            content: "The calendar is shown",
            trigger: ".o_calendar_renderer",
            isCheck: true,
        },
    ],
});
