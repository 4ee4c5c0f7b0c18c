"""Registry imports on queue_job: persons/second with import channel capacity 1 and 2.

For each capacity, an Odoo server (2 workers, its job runner with
``root.spp_registry_import:<capacity>``) runs two background imports at once, from
two DCI registry emulators (separate processes, disjoint identifiers), started one
right after the other; the clock runs from the first start to the end of both.
One import's pages always run in order, one at a time: the capacity is how many
imports (or registries) progress at once.

    bench/queue_import_bench.sh [--persons 4000] [--page-size 200] [--capacities 1,2]
"""

import argparse
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

from odoo_process import start_server, wait_until  # noqa: E402
from registry_import_bench import start_emulator  # noqa: E402

PREFIXES = ("UIN", "UJN")


def clear(server):
    with server.probe() as probe:
        probe.execute(
            "DELETE FROM spp_attendance_subscriber "
            "WHERE person_identifier LIKE 'U_N%%' RETURNING partner_id"
        )
        partners = [row[0] for row in probe.cursor.fetchall()]
        if partners:
            probe.execute("DELETE FROM res_partner WHERE id = ANY(%s)", (partners,))
        probe.execute("DELETE FROM spp_attendance_import_log")
        probe.execute("DELETE FROM queue_job")
        probe.connection.commit()


def start_import(server, url, page_size):
    for name, value in {
        "server_url": url,
        "client_id": "dci-client",
        "client_secret": "dci-secret-value",
        "page_size": page_size,
        "timeout": 60,
    }.items():
        server.set_param(f"spp_attendance.registry_{name}", value)
    Wizard = "spp.attendance.registry.import.wizard"
    wizard = server.rpc(Wizard, "create", {"run_in_background": True})
    return server.rpc(Wizard, "action_import", [wizard])["res_id"]


def run(args, capacity, urls):
    log_dir = Path(os.environ.get("SPP_RUN_DIR", ROOT / ".run")) / "logs"
    log_dir.mkdir(parents=True, exist_ok=True)
    channels = f"root:{capacity},root.spp_registry_import:{capacity}"
    server = start_server(
        args.odoo_bin,
        args.config,
        args.database,
        str(log_dir / f"queue-bench-{capacity}.log"),
        workers=2,
        env={"ODOO_QUEUE_JOB_CHANNELS": channels},
    )
    try:
        clear(server)
        start = time.perf_counter()
        logs = [start_import(server, url, args.page_size) for url in urls]
        ended = {}

        def all_ended():
            for log in server.rpc(
                "spp.attendance.import.log",
                "read",
                logs,
                ["state", "created_count", "error_message"],
            ):
                if log["state"] != "running" and log["id"] not in ended:
                    ended[log["id"]] = (time.perf_counter() - start, log)
            return len(ended) == len(logs)

        wait_until(all_ended, "both imports to end", timeout=3600, interval=0.2)
        elapsed = max(seconds for seconds, _log in ended.values())
        for _seconds, log in ended.values():
            if log["state"] != "done" or log["created_count"] != args.persons:
                raise RuntimeError(f"import ended badly: {log}")
        return elapsed, sorted(seconds for seconds, _log in ended.values())
    finally:
        clear(server)
        server.stop()


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("-c", "--config", required=True)
    parser.add_argument("-d", "--database", required=True)
    parser.add_argument("--odoo-bin", required=True)
    parser.add_argument("--persons", type=int, default=4000, help="per import")
    parser.add_argument("--page-size", type=int, default=200)
    parser.add_argument("--capacities", default="1,2")
    args = parser.parse_args()
    emulators = [
        start_emulator(args.persons, "--identifier-prefix", prefix)
        for prefix in PREFIXES
    ]
    try:
        urls = [url for _process, url in emulators]
        print(
            "| import channel capacity | imports x persons | seconds (both done) "
            "| each import ended at (s) | persons/s |"
        )
        print("|---:|---|---:|---|---:|")
        for capacity in (int(c) for c in args.capacities.split(",")):
            elapsed, each = run(args, capacity, urls)
            total = args.persons * len(urls)
            print(
                f"| {capacity} | {len(urls)} x {args.persons} | {elapsed:.1f} "
                f"| {', '.join(f'{s:.1f}' for s in each)} | {total / elapsed:.0f} |",
                flush=True,
            )
    finally:
        for process, _url in emulators:
            process.terminate()
            process.wait()


if __name__ == "__main__":
    main()
