/** @odoo-module **/

import {
    Component,
    onMounted,
    onWillStart,
    onWillUnmount,
    useEffect,
    useRef,
    useState,
} from "@odoo/owl";
import { browser } from "@web/core/browser/browser";
import { _t } from "@web/core/l10n/translation";
import { ConnectionLostError } from "@web/core/network/rpc_service";
import { registry } from "@web/core/registry";
import { useService } from "@web/core/utils/hooks";
import { debounce } from "@web/core/utils/timing";
import { isBarcodeScannerSupported, scanBarcode } from "@web/webclient/barcode/barcode_scanner";
import { DeskStore, sessionKey, uuid4 } from "./desk_store";

const MODEL = "spp.attendance.desk";
/** Check-ins sent per call when the queue is emptied. */
const BATCH = 50;
/** While check-ins wait, try again this often (ms), besides the browser's "online" event. */
const RETRY = 15000;
const SESSION_KEY = "spp_attendance.desk.session";

/**
 * The check-in desk: choose a session, then check people in by QR badge (camera
 * or a USB scanner typing + Enter), typed identifier or part of a name.
 *
 * Every check-in first goes to the IndexedDB queue with its own uuid, then the
 * queue is sent (in batches) to spp.attendance.desk.check_in, which stores
 * through the API's idempotent path: a batch sent again after a lost answer is
 * never stored twice. Unreachable server: the check-ins stay queued, shown as
 * pending, and are sent when the network returns (or after a reload).
 */
export class CheckInDesk extends Component {
    static template = "spp_attendance.CheckInDesk";
    static props = ["*"];

    setup() {
        this.orm = useService("orm");
        this.user = useService("user");
        this.store = new DeskStore();
        this.inputRef = useRef("input");
        this.roster = new Map();
        this.flushing = null;
        this.savedSessionKey = `${SESSION_KEY}.${this.user.userId}`;
        this.state = useState({
            setup: null,
            form: { type_id: false, location_id: false, date: "" },
            session: null,
            present: 0,
            absent: 0,
            duplicates: 0,
            last: [],
            pendingItems: [],
            answer: null,
            text: "",
            suggestions: [],
            selected: -1,
            online: true,
            error: null,
            canScan: Boolean(isBarcodeScannerSupported()),
        });
        // the input has the focus as soon as it is shown (a session opened)
        useEffect(
            (input) => input?.focus(),
            () => [this.inputRef.el]
        );
        this.debouncedSearch = debounce((text) => this.search(text), 120);
        this.onOnline = () => this.flush();
        onWillStart(() => this.start());
        onMounted(() => {
            browser.addEventListener("online", this.onOnline);
            this.retryTimer = browser.setInterval(() => {
                if (this.state.pendingItems.length) {
                    this.flush();
                }
            }, RETRY);
            this.focus();
        });
        onWillUnmount(() => {
            browser.removeEventListener("online", this.onOnline);
            browser.clearInterval(this.retryTimer);
        });
    }

    // -- session ---------------------------------------------------------------

    async start() {
        try {
            this.state.setup = await this.orm.silent.call(MODEL, "get_setup", []);
            const first = this.state.setup.locations[0];
            Object.assign(this.state.form, {
                type_id: this.state.setup.types[0]?.id || false,
                location_id: first?.id || false,
                date: first?.today || "",
            });
        } catch (error) {
            this.handleError(error);
        }
        const saved = browser.localStorage.getItem(this.savedSessionKey);
        if (saved) {
            await this.enterSession(JSON.parse(saved));
        } else {
            await this.flush();
        }
    }

    onTypeChange(ev) {
        this.state.form.type_id = parseInt(ev.target.value);
    }

    onDateChange(ev) {
        this.state.form.date = ev.target.value;
    }

    onLocationChange(ev) {
        this.state.form.location_id = parseInt(ev.target.value);
        const location = this.state.setup.locations.find((l) => l.id === this.state.form.location_id);
        this.state.form.date = location ? location.today : "";
    }

    async openSession() {
        const { type_id, location_id, date } = this.state.form;
        try {
            const session = await this.orm.call(MODEL, "open_session", [type_id, location_id, date || false]);
            await this.enterSession(session);
        } catch (error) {
            this.handleError(error);
        }
    }

    async enterSession(session) {
        const { present, absent, last, ...bare } = session;
        this.state.session = bare;
        this.key = sessionKey(bare, this.user.userId);
        browser.localStorage.setItem(this.savedSessionKey, JSON.stringify(bare));
        this.state.duplicates = parseInt(browser.localStorage.getItem(`${SESSION_KEY}.dup.${this.key}`) || 0);
        if (last) {
            this.applyState({ present, absent, last });
        }
        this.setRoster((await this.store.loadRoster(this.key)) || []);
        await this.loadPending();
        this.refreshRoster();
        if (!last) {
            this.call(this.state.session, "get_state").then((state) => state && this.applyState(state));
        }
        await this.flush();
        this.focus();
    }

    closeSession() {
        browser.localStorage.removeItem(this.savedSessionKey);
        Object.assign(this.state, { session: null, answer: null, last: [], pendingItems: [] });
    }

    /** A desk call for a session; undefined when the server cannot be reached. */
    async call(session, method, ...args) {
        try {
            const result = await this.orm.silent.call(MODEL, method, [session, ...args]);
            this.state.online = true;
            return result;
        } catch (error) {
            this.handleError(error);
        }
    }

    handleError(error) {
        if (error instanceof ConnectionLostError) {
            this.state.online = false;
            return;
        }
        this.state.error = error.data?.message || error.message || String(error);
    }

    applyState(state) {
        Object.assign(this.state, { present: state.present, absent: state.absent, last: state.last });
    }

    async refreshRoster() {
        const people = await this.call(this.state.session, "get_roster");
        if (people) {
            this.setRoster(people);
            await this.store.saveRoster(this.key, people);
        }
    }

    setRoster(people) {
        this.roster = new Map(people);
    }

    async loadPending() {
        this.state.pendingItems = await this.store.pending(this.key);
    }

    // -- input -------------------------------------------------------------------

    focus() {
        this.inputRef.el?.focus();
    }

    onInput(ev) {
        this.state.text = ev.target.value;
        this.state.selected = -1;
        this.debouncedSearch(this.state.text);
    }

    async search(text) {
        text = text.trim();
        if (text.length < 2) {
            this.state.suggestions = [];
            return;
        }
        let found = this.state.online ? await this.call(this.state.session, "search_people", text) : undefined;
        if (found === undefined) {
            // offline: the roster kept for the session
            const needle = text.toLowerCase();
            found = [...this.roster]
                .filter(([id, name]) => id === text || name.toLowerCase().includes(needle))
                .slice(0, 8);
        }
        if (text === this.state.text.trim()) {
            this.state.suggestions = found;
        }
    }

    onKeydown(ev) {
        const count = this.state.suggestions.length;
        if (ev.key === "ArrowDown" && count) {
            this.state.selected = (this.state.selected + 1) % count;
        } else if (ev.key === "ArrowUp" && count) {
            this.state.selected = (this.state.selected - 1 + count) % count;
        } else if (ev.key === "Enter") {
            this.checkIn(ev.shiftKey ? "absent" : "present");
        } else if (ev.key === "Escape") {
            this.clearInput();
        } else {
            return;
        }
        ev.preventDefault();
    }

    clearInput() {
        Object.assign(this.state, { text: "", suggestions: [], selected: -1 });
        if (this.inputRef.el) {
            this.inputRef.el.value = "";
        }
    }

    async scan() {
        try {
            const code = await scanBarcode(this.env);
            if (code) {
                await this.checkIn("present", code);
            }
        } catch (error) {
            this.state.error = error.message;
        }
        this.focus();
    }

    // -- check-ins ---------------------------------------------------------------

    async checkIn(category, identifier = null) {
        const selected = this.state.suggestions[this.state.selected];
        const personId = (identifier || (selected ? selected[0] : this.state.text)).trim();
        if (!personId || !this.state.session) {
            return;
        }
        const item = {
            uuid: uuid4(),
            session: this.key,
            sessionData: { ...this.state.session }, // a plain copy: IndexedDB cannot store a reactive proxy
            person_id: personId,
            category,
            scanned_at: new Date().toISOString(),
        };
        this.clearInput();
        this.state.error = null;
        await this.store.enqueue(item);
        await this.loadPending();
        const answers = await this.flush();
        const answer = answers.get(item.uuid);
        this.showAnswer(
            answer || {
                status: "pending",
                identifier: personId,
                category,
                name: this.roster.get(personId) || "",
            }
        );
        this.focus();
    }

    /**
     * Send the queue in batches, oldest session first (check-ins queued for an
     * earlier session are sent too); answers by uuid. One run at a time: a call
     * during a run waits for it and runs again (the new check-in is sent too).
     */
    async flush() {
        while (this.flushing) {
            await this.flushing;
        }
        let done;
        this.flushing = new Promise((resolve) => (done = resolve));
        const answers = new Map();
        try {
            for (;;) {
                // this user's check-ins only: each is stamped with who sends it
                const mine = `${this.user.userId}:`;
                const queued = (await this.store.all()).filter((item) => item.session.startsWith(mine));
                if (!queued.length) {
                    break;
                }
                const key = queued[0].session;
                const batch = queued.filter((item) => item.session === key).slice(0, BATCH);
                const cards = batch.map(({ uuid, person_id, category, scanned_at }) => ({
                    uuid,
                    person_id,
                    category,
                    scanned_at,
                }));
                const result = await this.call(batch[0].sessionData, "check_in", cards);
                if (!result) {
                    break;
                }
                await this.store.remove(result.answers.map((a) => a.uuid));
                for (const answer of result.answers) {
                    answers.set(answer.uuid, answer);
                }
                const duplicates = result.answers.filter((a) => a.status === "duplicate").length;
                this.countDuplicates(key, duplicates);
                if (key === this.key) {
                    this.applyState(result.state);
                }
            }
        } finally {
            if (this.state.session) {
                await this.loadPending();
            }
            this.flushing = null;
            done();
        }
        return answers;
    }

    countDuplicates(key, count) {
        if (!count) {
            return;
        }
        const storageKey = `${SESSION_KEY}.dup.${key}`;
        const total = parseInt(browser.localStorage.getItem(storageKey) || 0) + count;
        browser.localStorage.setItem(storageKey, total);
        if (key === this.key) {
            this.state.duplicates = total;
        }
    }

    async undo(record) {
        const state = await this.call(this.state.session, "undo", record.id);
        if (state) {
            this.applyState(state);
            this.showAnswer({ status: "undone", identifier: record.identifier, name: record.name });
        }
        this.focus();
    }

    showAnswer(answer) {
        this.state.answer = answer;
        this.beep(answer.status);
    }

    beep(status) {
        const tones = { recorded: [880], duplicate: [440, 440], unknown: [220], refused: [220], pending: [660] };
        const AudioContext = browser.AudioContext || browser.webkitAudioContext;
        if (!tones[status] || !AudioContext) {
            return;
        }
        try {
            this.audio = this.audio || new AudioContext();
            tones[status].forEach((frequency, index) => {
                const oscillator = this.audio.createOscillator();
                const gain = this.audio.createGain();
                gain.gain.value = 0.1;
                oscillator.frequency.value = frequency;
                oscillator.connect(gain).connect(this.audio.destination);
                const start = this.audio.currentTime + index * 0.2;
                oscillator.start(start);
                oscillator.stop(start + 0.15);
            });
        } catch {
            // sound is a bonus: colours carry the answer
        }
    }

    // -- display -----------------------------------------------------------------

    get answerClass() {
        const colours = {
            recorded: "bg-success",
            duplicate: "bg-warning",
            unknown: "bg-danger",
            refused: "bg-danger",
            pending: "bg-info",
            undone: "bg-secondary",
        };
        return colours[this.state.answer.status] || "bg-secondary";
    }

    get answerTitle() {
        const answer = this.state.answer;
        const absent = answer.category === "absent";
        return {
            recorded: absent ? _t("Recorded absent") : _t("Checked in"),
            duplicate: _t("Already recorded"),
            unknown: _t("Unknown identifier"),
            refused: _t("Refused"),
            pending: _t("Saved on this device, pending"),
            undone: _t("Check-in undone"),
        }[answer.status];
    }

    get answerDetail() {
        const answer = this.state.answer;
        if (answer.status === "duplicate" && answer.existing) {
            const { date, time, by, category } = answer.existing;
            return _t("Recorded %(category)s on %(date)s at %(time)s by %(by)s", {
                category,
                date,
                time,
                by,
            });
        }
        if (answer.status === "pending" && !answer.name) {
            return _t("Not in the roster kept on this device: checked when the server answers.");
        }
        return answer.message || "";
    }
}

registry.category("actions").add("spp_attendance.check_in_desk", CheckInDesk);
