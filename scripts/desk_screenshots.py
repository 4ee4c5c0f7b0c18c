"""Screenshots of the check-in desk and the badge sheet for the add-on's USAGE.md.

Drives headless Chromium through the Chrome DevTools Protocol (``websocket-client``,
as Odoo's own browser tests do) against a running back office with demo data:

1. logs in as ``admin`` through ``/web/login``;
2. opens the *Check-in desk* client action and chooses the busiest session of
   today in the demo data (type and location) -> ``desk_session.png``;
3. opens the session and checks in, by its typed identifier and Enter, a demo
   subscriber who has no record that day -> ``desk_checkin.png`` (the big answer,
   the counters, the last check-ins); the check-in is then undone at the desk (the
   record is archived), so that the script can be run again on the same database;
4. opens the HTML of the *Badges (A4 sheet)* report for four demo subscribers
   -> ``badges.png``.

Every step waits for a state of the page (a selector, a counter, loaded images),
polled with a timeout; there are no fixed sleeps. The PNGs are written to
``spp_attendance/static/description/`` (reduced to a 256-colour palette when Pillow is
installed, as it is in the project's virtualenv).

To regenerate them, with a server started by ``scripts/run.sh`` (demo data) and
Chromium installed (``websocket-client`` comes with ``requirements-test.txt``, which
``scripts/test.sh`` and ``scripts/lint.sh`` install in ``.venv``)::

    scripts/run.sh                       # in one terminal; note the port it announces
    .venv/bin/pip install -r requirements-test.txt  # once, if test.sh never ran
    .venv/bin/python scripts/desk_screenshots.py --url http://localhost:8069

then look at the three PNGs and commit them. The demo data has records on weekdays
only: at a weekend the desk shows the first type and location with no earlier
check-ins.

Options: ``--url``, ``--db`` (when the server has several databases), ``--login`` /
``--password`` (default admin/admin), ``--chrome`` (default: chromium or
google-chrome on the PATH), ``--out`` (output directory), ``--timeout`` (seconds per
wait, default 30), ``--keep`` (do not undo the check-in).
"""

import argparse
import base64
import io
import json
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import websocket

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "spp_attendance" / "static" / "description"
DESK_ACTION = "spp_attendance.action_attendance_check_in_desk"
BADGE_REPORT = "spp_attendance.report_attendance_badge_sheet"
WIDTH, HEIGHT = 1280, 800


class Timeout(Exception):
    pass


class ProtocolError(RuntimeError):
    """An error answer of the DevTools Protocol (e.g. a page that is navigating)."""


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def poll(what, probe, timeout, interval=0.1):
    """Call ``probe`` until it returns something truthy; raise after ``timeout``."""
    deadline = time.monotonic() + timeout
    last_error = None
    while time.monotonic() < deadline:
        try:
            value = probe()
        except (OSError, ValueError, ProtocolError) as exc:
            value, last_error = None, exc
        if value:
            return value
        time.sleep(interval)
    raise Timeout(
        f"timed out after {timeout}s waiting for {what} ({last_error or 'no match'})"
    )


class Chrome:
    """A headless Chromium and one page, driven through the DevTools Protocol."""

    def __init__(self, binary, timeout):
        self.timeout = timeout
        self.profile = tempfile.mkdtemp(prefix="spp-desk-shots-")
        port = free_port()
        self.process = subprocess.Popen(  # pylint: disable=consider-using-with
            [
                binary,
                "--headless=new",
                "--no-sandbox",
                "--disable-gpu",
                f"--remote-debugging-port={port}",
                f"--user-data-dir={self.profile}",
                f"--window-size={WIDTH},{HEIGHT}",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--autoplay-policy=no-user-gesture-required",
                "about:blank",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )

        def page_target():
            if self.process.poll() is not None:
                raise RuntimeError(f"{binary} stopped (exit {self.process.returncode})")
            with urllib.request.urlopen(
                f"http://127.0.0.1:{port}/json/list", timeout=2
            ) as resp:
                targets = json.load(resp)
            return next((t for t in targets if t["type"] == "page"), None)

        target = poll("Chromium's DevTools endpoint", page_target, timeout)
        self.ws = websocket.create_connection(
            target["webSocketDebuggerUrl"], timeout=timeout, suppress_origin=True
        )
        self.next_id = 0
        self.send("Page.enable")
        self.send("Runtime.enable")
        self.send(
            "Emulation.setDeviceMetricsOverride",
            width=WIDTH,
            height=HEIGHT,
            deviceScaleFactor=1,
            mobile=False,
        )

    def send(self, method, **params):
        """Send a command and return its result (events in between are dropped)."""
        self.next_id += 1
        self.ws.send(
            json.dumps({"id": self.next_id, "method": method, "params": params})
        )
        while True:
            message = json.loads(self.ws.recv())
            if message.get("id") != self.next_id:
                continue
            if "error" in message:
                raise ProtocolError(f"{method}: {message['error']}")
            return message["result"]

    def evaluate(self, expression):
        """Evaluate the JavaScript ``expression`` in the page, with the helpers ``q``
        and ``qa`` (see the snippets below); await a promise; return its JSON value."""
        expression = (
            "((q, qa) => (%s))((s) => document.querySelector(s),"
            " (s) => [...document.querySelectorAll(s)])" % expression
        )
        result = self.send(
            "Runtime.evaluate",
            expression=expression,
            returnByValue=True,
            awaitPromise=True,
        )
        if "exceptionDetails" in result:
            details = result["exceptionDetails"]
            text = details.get("exception", {}).get("description") or details.get(
                "text"
            )
            raise RuntimeError(f"JavaScript error: {text}")
        return result["result"].get("value")

    def wait(self, what, expression):
        """Wait until the JavaScript ``expression`` is truthy; return its value."""
        return poll(what, lambda: self.evaluate(expression), self.timeout)

    def wait_for(self, selector):
        return self.wait(selector, f"!!document.querySelector({json.dumps(selector)})")

    def navigate(self, url):
        self.send("Page.navigate", url=url)
        # the old document may still answer "complete": wait for the new URL too
        self.wait(
            f"{url} loaded",
            "document.readyState === 'complete'"
            f" && location.href.startsWith({json.dumps(url)})",
        )

    def screenshot(self, path, clip=None):
        params = {"format": "png"}
        if clip:
            params.update(clip=dict(clip, scale=1), captureBeyondViewport=True)
        data = base64.b64decode(self.send("Page.captureScreenshot", **params)["data"])
        path.write_bytes(shrink(data))
        print(f"wrote {path.relative_to(ROOT) if path.is_relative_to(ROOT) else path}")

    def close(self):
        try:
            self.ws.close()
        finally:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
            shutil.rmtree(self.profile, ignore_errors=True)


def shrink(png):
    """The PNG reduced to a 256-colour palette (much smaller, same look for UI)."""
    try:
        from PIL import Image  # pylint: disable=import-outside-toplevel
    except ImportError:
        return png
    image = Image.open(io.BytesIO(png)).convert("RGB")
    image = image.quantize(colors=256, dither=Image.Dither.NONE)
    out = io.BytesIO()
    image.save(out, format="PNG", optimize=True)
    return out.getvalue()


# JavaScript helpers installed in the back-office page ---------------------------

RPC_JS = """(() => {
window.__sppRpc = async (model, method, args, kwargs) => {
    const response = await fetch(`/web/dataset/call_kw/${model}/${method}`, {
        method: "POST",
        headers: {"Content-Type": "application/json"},
        body: JSON.stringify({jsonrpc: "2.0", method: "call", id: 1,
            params: {model, method, args, kwargs: kwargs || {}}}),
    });
    const answer = await response.json();
    if (answer.error) {
        throw new Error(JSON.stringify(answer.error.data || answer.error));
    }
    return answer.result;
};
return true;
})()"""

# the busiest session of today in the demo data, and a demo subscriber without a
# record that day (so that the check-in is answered "Checked in")
PLAN_JS = """
(async () => {
    const rpc = window.__sppRpc;
    const setup = await rpc("spp.attendance.desk", "get_setup", []);
    // records of today at each location (today in the location's time zone)
    const domain = [];
    setup.locations.forEach((loc, index) => {
        if (index) domain.unshift("|");
        domain.push("&", ["attendance_location_id", "=", loc.id],
                    ["attendance_date", "=", loc.today]);
    });
    const records = await rpc("spp.attendance.list", "search_read", [domain], {
        fields: ["attendance_type_id", "attendance_location_id"],
    });
    const counts = {};
    for (const r of records) {
        const key = `${r.attendance_type_id[0]},${r.attendance_location_id[0]}`;
        counts[key] = (counts[key] || 0) + 1;
    }
    let best = Object.entries(counts).sort((a, b) => b[1] - a[1])[0];
    let [typeId, locationId] = best
        ? best[0].split(",").map(Number)
        : [setup.types[0].id, setup.locations[0].id];
    const location = setup.locations.find((loc) => loc.id === locationId);
    const type = setup.types.find((t) => t.id === typeId);
    const taken = await rpc("spp.attendance.list", "search_read",
        [[["attendance_date", "=", location.today]]], {fields: ["subscriber_id"]});
    const takenIds = new Set(taken.map((r) => r.subscriber_id[0]));
    const subscribers = await rpc("spp.attendance.subscriber", "search_read",
        [[["person_identifier", "=like", "PID-%"],
          ["company_id", "=", setup.company.id]]],
        {fields: ["person_identifier", "name"], order: "person_identifier"});
    const candidate = subscribers.find((s) => !takenIds.has(s.id));
    return {
        type: type.name, location: location.name, date: location.today,
        person: candidate ? [candidate.person_identifier, candidate.name] : null,
        badges: subscribers.slice(0, 4).map((s) => s.id),
    };
})()
"""


# Snippets evaluated in the page: ``q(selector)`` is ``document.querySelector``,
# ``qa(selector)`` the array of ``document.querySelectorAll``; ``$name`` is replaced
# by the JSON of the value passed as ``name`` (see :func:`js`).

LOGIN_JS = """(() => {
    q("input[name=login]").value = $login;
    q("input[name=password]").value = $password;
    q("form.oe_login_form").submit();
    return true;
})()"""

LOGGED_IN_JS = """(() => {
    const error = q(".oe_login_form .alert-danger");
    if (error) {
        throw new Error(error.textContent.trim());
    }
    return !!q(".o_main_navbar");
})()"""

CHOOSE_JS = """(() => {
    for (const [selector, text] of [[".o_spp_desk_type", $type],
                                    [".o_spp_desk_location", $location]]) {
        const select = q(selector);
        const option = [...select.options].find((o) => o.textContent.trim() === text);
        select.value = option.value;
        select.dispatchEvent(new Event("change"));
    }
    return true;
})()"""

CHOSEN_JS = """(() => {
    const text = (s) => q(s).options[q(s).selectedIndex].textContent.trim();
    return text(".o_spp_desk_type") === $type
        && text(".o_spp_desk_location") === $location
        && q(".o_spp_desk_date").value === $date;
})()"""

OPEN_JS = """!!q(".o_spp_desk_title")
    && !!q(".o_spp_desk_present[data-value]")
    && document.activeElement === q(".o_spp_desk_input")"""

ANSWER_JS = """(() => {
    const answer = q(".o_spp_desk_answer");
    return answer && answer.textContent.includes($identifier) && answer.className;
})()"""

# what the check-in screenshot must show
CHECKED_IN_JS = """q(".o_spp_desk_present").dataset.value === $present
    && qa(".o_spp_desk_record_row").some((row) => row.textContent.includes($identifier))
    && !q(".o_spp_desk_suggestions")
    && q(".o_spp_desk_input").value === ""
    && document.activeElement === q(".o_spp_desk_input")"""

UNDO_JS = """(() => {
    qa(".o_spp_desk_record_row")
        .find((row) => row.textContent.includes($identifier))
        .querySelector(".o_spp_desk_undo")
        .click();
    return true;
})()"""

UNDONE_JS = """!!q(".o_spp_desk_answer_undone")
    && q(".o_spp_desk_present").dataset.value === $present"""

# the badges, once all their QR codes are loaded: the rectangle around them
BADGES_JS = """(() => {
    const badges = qa(".o_spp_badge");
    const images = [...document.images];
    if (badges.length !== $count || !images.length
        || !images.every((img) => img.complete && img.naturalWidth > 0)) {
        return null;
    }
    const rects = badges.map((b) => b.getBoundingClientRect());
    const x = Math.max(Math.min(...rects.map((r) => r.left)) - 16, 0);
    const y = Math.max(Math.min(...rects.map((r) => r.top)) - 16, 0);
    return {
        x,
        y,
        width: Math.max(...rects.map((r) => r.right)) + 16 - x,
        height: Math.max(...rects.map((r) => r.bottom)) + 16 - y,
    };
})()"""


def js(template, **values):
    """``template`` with each ``$name`` replaced by the JSON of ``values[name]``."""
    for name, value in values.items():
        template = template.replace(f"${name}", json.dumps(value))
    return template


def press_enter(chrome):
    """Enter, as a keyboard (or a USB badge scanner) sends it."""
    for kind in ("keyDown", "keyUp"):
        chrome.send(
            "Input.dispatchKeyEvent",
            type=kind,
            key="Enter",
            code="Enter",
            windowsVirtualKeyCode=13,
            nativeVirtualKeyCode=13,
            **({"text": "\r"} if kind == "keyDown" else {}),
        )


def run(args):
    url = args.url.rstrip("/")
    chrome = Chrome(args.chrome, args.timeout)
    try:
        # 1. log in
        chrome.navigate(f"{url}/web/login" + (f"?db={args.db}" if args.db else ""))
        chrome.wait_for("form.oe_login_form input[name=password]")
        chrome.evaluate(js(LOGIN_JS, login=args.login, password=args.password))
        chrome.wait("the back office after the login", LOGGED_IN_JS)

        # 2. the session picker, set to the busiest session of the day
        chrome.navigate(f"{url}/web#action={DESK_ACTION}")
        chrome.wait_for(".o_spp_desk_picker .o_spp_desk_open")
        chrome.evaluate(RPC_JS)
        plan = chrome.evaluate(PLAN_JS)
        if not plan["person"]:
            raise RuntimeError(
                f"every demo subscriber has a record on {plan['date']}: "
                "nobody to check in"
            )
        identifier, name = plan["person"]
        print(
            f"session: {plan['type']} · {plan['location']} · {plan['date']};"
            f" checking in {identifier} ({name})"
        )
        chrome.evaluate(js(CHOOSE_JS, type=plan["type"], location=plan["location"]))
        chrome.wait(
            "the session's type, location and date in the picker",
            js(
                CHOSEN_JS,
                type=plan["type"],
                location=plan["location"],
                date=plan["date"],
            ),
        )
        chrome.screenshot(args.out / "desk_session.png")

        # 3. open the session, check one subscriber in by the typed identifier
        chrome.evaluate('q(".o_spp_desk_open").click() || true')
        chrome.wait("the open session, with the focus in the input", OPEN_JS)
        present = int(chrome.evaluate('q(".o_spp_desk_present").dataset.value'))
        chrome.send("Input.insertText", text=identifier)
        chrome.wait(
            "the typed identifier in the input",
            js('q(".o_spp_desk_input").value === $identifier', identifier=identifier),
        )
        press_enter(chrome)
        answer = chrome.wait("the desk's answer", js(ANSWER_JS, identifier=identifier))
        if "o_spp_desk_answer_recorded" not in answer:
            text = chrome.evaluate('q(".o_spp_desk_answer").innerText')
            raise RuntimeError(f"the desk did not record {identifier}: {text!r}")
        chrome.wait(
            "the counters, the last check-ins and an empty input without suggestions",
            js(CHECKED_IN_JS, present=str(present + 1), identifier=identifier),
        )
        chrome.screenshot(args.out / "desk_checkin.png")

        if not args.keep:
            chrome.evaluate(js(UNDO_JS, identifier=identifier))
            chrome.wait("the check-in undone", js(UNDONE_JS, present=str(present)))
            print(f"undid the check-in of {identifier} (archived)")

        # 4. the badge sheet (HTML version of the report)
        ids = ",".join(str(i) for i in plan["badges"])
        chrome.navigate(f"{url}/report/html/{BADGE_REPORT}/{ids}")
        clip = chrome.wait(
            "the badges with their QR codes", js(BADGES_JS, count=len(plan["badges"]))
        )
        chrome.screenshot(args.out / "badges.png", clip=clip)
    finally:
        chrome.close()


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument(
        "--url", default="http://localhost:8069", help="the back office"
    )
    parser.add_argument("--db", help="database (when the server has several)")
    parser.add_argument("--login", default="admin")
    parser.add_argument("--password", default="admin")
    parser.add_argument(
        "--chrome",
        default=shutil.which("chromium") or shutil.which("google-chrome") or "chromium",
    )
    parser.add_argument("--out", type=Path, default=OUT, help="output directory")
    parser.add_argument("--timeout", type=float, default=30, help="seconds per wait")
    parser.add_argument("--keep", action="store_true", help="do not undo the check-in")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    try:
        run(args)
    except (Timeout, RuntimeError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
