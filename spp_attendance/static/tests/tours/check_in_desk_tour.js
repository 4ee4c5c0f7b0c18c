/** @odoo-module **/

import { browser } from "@web/core/browser/browser";
import { registry } from "@web/core/registry";
import { stepUtils } from "@web_tour/tour_service/tour_utils";

/**
 * The check-in desk on a bad network (data created by
 * spp_attendance/tests/test_check_in_desk_tour.py). The tour cuts the page off
 * the server by replacing the XMLHttpRequest the RPC layer uses: the desk's
 * calls fail as when the network is down ("offline"), or reach the server but
 * lose their answer ("lose"). Every wait is on a state of the page.
 */
const RealXHR = browser.XMLHttpRequest;
let network = "up";

class CutXHR extends RealXHR {
    open(method, url, ...rest) {
        this.deskCall = url.includes("spp.attendance.desk");
        return super.open(method, url, ...rest);
    }
    addEventListener(type, listener, ...rest) {
        if (type !== "load") {
            return super.addEventListener(type, listener, ...rest);
        }
        return super.addEventListener(
            "load",
            (ev) => {
                if (this.loseAnswer) {
                    // stored on the server, but the page never hears it
                    network = "down";
                    document.body.dataset.deskAnswerLost = "1";
                    this.dispatchEvent(new ProgressEvent("error"));
                    return;
                }
                listener(ev);
            },
            ...rest
        );
    }
    send(body) {
        if (this.deskCall && network === "down") {
            Promise.resolve().then(() => this.dispatchEvent(new ProgressEvent("error")));
            return;
        }
        this.loseAnswer = this.deskCall && network === "lose";
        return super.send(body);
    }
}

function setNetwork(state) {
    network = state;
    browser.XMLHttpRequest = state === "up" ? RealXHR : CutXHR;
}

function selectOption(selector, text) {
    const select = document.querySelector(selector);
    const option = [...select.options].find((o) => o.textContent.trim() === text);
    if (!option) {
        throw new Error(`no option ${text} in ${selector}`);
    }
    select.value = option.value;
    select.dispatchEvent(new Event("change"));
}

function typeInDesk(text) {
    const input = document.querySelector(".o_spp_desk_input");
    input.focus();
    input.value = text;
    input.dispatchEvent(new Event("input"));
}

function key(name) {
    document
        .querySelector(".o_spp_desk_input")
        .dispatchEvent(new KeyboardEvent("keydown", { key: name, bubbles: true }));
}

function scan(identifier) {
    // what a USB scanner does: the characters, then Enter
    typeInDesk(identifier);
    key("Enter");
}

function counter(name, value) {
    return `.o_spp_desk_${name}[data-value="${value}"]`;
}

const checkInSteps = (identifier, name) => [
    {
        content: `Check ${identifier} in by the identifier`,
        trigger: ".o_spp_desk_input",
        run: () => scan(identifier),
    },
    {
        content: `${name} is recorded`,
        trigger: `.o_spp_desk_answer_recorded:contains(${name}):contains(${identifier})`,
        isCheck: true,
    },
];

registry.category("web_tour.tours").add("spp_attendance_check_in_desk_tour", {
    test: true,
    url: "/web",
    steps: () => [
        ...stepUtils.goToAppSteps("spp_attendance.menu_root", "Open the Attendance app"),
        {
            content: "Open the check-in desk",
            trigger: '.o_main_navbar [data-menu-xmlid="spp_attendance.menu_attendance_check_in_desk"]',
        },
        {
            content: "Choose the session",
            trigger: ".o_spp_desk_picker .o_spp_desk_location",
            run: () => {
                selectOption(".o_spp_desk_type", "Desk Tour Training");
                selectOption(".o_spp_desk_location", "Desk Tour Hall");
            },
        },
        {
            content: "The date defaults to today at the location; open the session",
            trigger: ".o_spp_desk_open",
            run: (helpers) => {
                const date = document.querySelector(".o_spp_desk_date").value;
                if (date !== new Date().toISOString().slice(0, 10)) {
                    throw new Error(`session date ${date}, expected today (UTC at the location)`);
                }
                helpers.click();
            },
        },
        {
            content: "The session is open, the input has the focus",
            trigger: ".o_spp_desk_title:contains(Desk Tour Training):contains(Desk Tour Hall)",
            run: () => {
                if (document.activeElement !== document.querySelector(".o_spp_desk_input")) {
                    throw new Error("the input should have the focus");
                }
            },
        },
        ...checkInSteps("DT-001", "Quill, Ada"),
        {
            content: "Check someone in by part of a name",
            trigger: ".o_spp_desk_input",
            run: () => typeInDesk("zephy"),
        },
        {
            content: "Choose the suggestion with the keyboard",
            trigger: ".o_spp_desk_suggestion:contains(Zephyr, Ben):contains(DT-002)",
            run: () => {
                key("ArrowDown");
                key("Enter");
            },
        },
        {
            content: "Ben is recorded, the focus is back in the input",
            trigger: ".o_spp_desk_answer_recorded:contains(Zephyr, Ben)",
            run: () => {
                if (document.activeElement !== document.querySelector(".o_spp_desk_input")) {
                    throw new Error("the focus should be back in the input");
                }
            },
        },
        {
            content: "Scan Ada again",
            trigger: counter("present", 2),
            run: () => scan("DT-001"),
        },
        {
            content: "The duplicate is refused, saying by whom",
            trigger: ".o_spp_desk_answer_duplicate:contains(Quill, Ada):contains(Desk Officer)",
            extra_trigger: counter("duplicates", 1),
            isCheck: true,
        },
        {
            content: "The network goes down; check Cy in",
            trigger: ".o_spp_desk_input",
            run: () => {
                setNetwork("down");
                scan("DT-003");
            },
        },
        {
            content: "Cy is pending, named from the roster kept on the device",
            trigger: ".o_spp_desk_answer_pending:contains(Marlow, Cy)",
            extra_trigger: ".o_spp_desk_offline",
            run: () => scan("DT-004"),
        },
        {
            content: "Two check-ins are pending",
            trigger: counter("pending", 2),
            extra_trigger: ".o_spp_desk_answer_pending:contains(Marlow, Dee)",
            run: () => {
                // the first attempt reaches the server but its answer is lost
                setNetwork("lose");
                window.dispatchEvent(new Event("online"));
            },
        },
        {
            content: "The answer was lost: still pending; the network comes back",
            trigger: "body[data-desk-answer-lost]",
            extra_trigger: counter("pending", 2),
            run: () => {
                setNetwork("up");
                window.dispatchEvent(new Event("online"));
            },
        },
        {
            content: "Sent again: nothing pending, four present (each stored once)",
            trigger: counter("pending", 0),
            extra_trigger: counter("present", 4),
            isCheck: true,
        },
        {
            content: "Down again: check Eve in",
            trigger: ".o_spp_desk_online",
            run: () => {
                setNetwork("down");
                scan("DT-005");
            },
        },
        {
            content: "Eve is pending; reload the page",
            trigger: counter("pending", 1),
            extra_trigger: ".o_spp_desk_pending_row:contains(DT-005)",
            run: () => window.location.reload(),
        },
        {
            content: "After the reload the session is back and Eve was sent",
            trigger: ".o_spp_desk_record_row:contains(DT-005)",
            extra_trigger: counter("pending", 0),
            isCheck: true,
        },
        {
            content: "Five present; undo Eve's check-in",
            trigger: ".o_spp_desk_record_row:contains(DT-005) .o_spp_desk_undo",
            extra_trigger: counter("present", 5),
        },
        {
            content: "Undone",
            trigger: ".o_spp_desk_answer_undone:contains(Ostrander, Eve)",
            extra_trigger: counter("present", 4),
            isCheck: true,
        },
    ],
});
