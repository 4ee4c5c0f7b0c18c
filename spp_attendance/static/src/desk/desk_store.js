/** @odoo-module **/

/**
 * What the check-in desk keeps in the browser (IndexedDB), so that nothing
 * typed or scanned is lost when the network or the page goes away:
 * - "queue": check-ins not yet acknowledged by the server, one row per
 *   check-in keyed by its own uuid (the server's idempotency key), with the
 *   session it belongs to (so that it is sent even if the desk moved on);
 * - "roster": per session, the identifiers and names of the company's
 *   subscribers, for lookups while offline.
 */
const DB_NAME = "spp_attendance_desk";
const VERSION = 1;

function promisify(request) {
    return new Promise((resolve, reject) => {
        request.onsuccess = () => resolve(request.result);
        request.onerror = () => reject(request.error);
    });
}

export function uuid4() {
    // crypto.randomUUID() exists only in secure contexts (https, localhost);
    // getRandomValues() everywhere.
    const bytes = crypto.getRandomValues(new Uint8Array(16));
    bytes[6] = (bytes[6] & 0x0f) | 0x40;
    bytes[8] = (bytes[8] & 0x3f) | 0x80;
    const hex = [...bytes].map((b) => b.toString(16).padStart(2, "0")).join("");
    return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

/** The key of a session: one queue and one roster per session and user. */
export function sessionKey(session, userId) {
    return [userId, session.company_id, session.type_id, session.location_id, session.date].join(":");
}

export class DeskStore {
    async open() {
        if (!this.db) {
            const request = indexedDB.open(DB_NAME, VERSION);
            request.onupgradeneeded = () => {
                const db = request.result;
                const queue = db.createObjectStore("queue", { keyPath: "uuid" });
                queue.createIndex("session", "session");
                db.createObjectStore("roster", { keyPath: "session" });
            };
            this.db = await promisify(request);
        }
        return this.db;
    }

    async _store(name, mode = "readonly") {
        const db = await this.open();
        return db.transaction(name, mode).objectStore(name);
    }

    async enqueue(item) {
        await promisify((await this._store("queue", "readwrite")).put(item));
    }

    async pending(session) {
        const items = await promisify((await this._store("queue")).index("session").getAll(session));
        return items.sort((a, b) => a.scanned_at.localeCompare(b.scanned_at));
    }

    /** Every queued check-in, of every session, oldest first. */
    async all() {
        const items = await promisify((await this._store("queue")).getAll());
        return items.sort((a, b) => a.scanned_at.localeCompare(b.scanned_at));
    }

    async remove(uuids) {
        const store = await this._store("queue", "readwrite");
        await Promise.all(uuids.map((uuid) => promisify(store.delete(uuid))));
    }

    async saveRoster(session, people) {
        await promisify((await this._store("roster", "readwrite")).put({ session, people }));
    }

    async loadRoster(session) {
        const row = await promisify((await this._store("roster")).get(session));
        return row ? row.people : null;
    }
}
