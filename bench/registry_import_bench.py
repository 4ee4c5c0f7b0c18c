"""Registry import benchmark: persons/second and peak memory as the registry grows.

Runs the background import path (``spp.attendance.import.log``, one page at a
time, committing after each page, exactly as the scheduled action does)
against the DCI registry emulator, started in its own process so that only the
importer's memory is measured.

    bench/registry_import_bench.sh [--sizes 10000,50000,100000] [--page-size 1000]

(the wrapper starts PostgreSQL and installs the addons in a fresh database),
or directly against an existing database that has ``spp_attendance``:

    .venv/bin/python bench/registry_import_bench.py -c ODOO_CONF -d DB [...]

For each size N: a fresh import of N persons (all created), then a re-import
of the same N persons (all unchanged). Prints one Markdown table row per run.
"""

import argparse
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
EMULATOR = ROOT / "spp_attendance" / "tests" / "dci_emulator.py"


def start_emulator(population, *options):
    """The DCI emulator in its own process (``options``: more of its arguments);
    returns the process and the registry's URL."""
    process = subprocess.Popen(
        [sys.executable, str(EMULATOR), "--population", str(population), *options],
        stdout=subprocess.PIPE,
        text=True,
    )
    line = process.stdout.readline().strip()
    if not line.startswith("URL "):
        process.kill()
        raise RuntimeError(f"emulator did not start: {line!r}")
    return process, line[4:]


def rss_mib():
    with open(f"/proc/{os.getpid()}/statm") as statm:
        pages = int(statm.read().split()[1])
    return pages * os.sysconf("SC_PAGE_SIZE") / 2**20


def run_import(registry, label, population, page_size, url):
    import odoo
    from odoo import api

    with registry.cursor() as cr:
        env = api.Environment(cr, odoo.SUPERUSER_ID, {})
        ICP = env["ir.config_parameter"]
        for key, value in {
            "server_url": url,
            "client_id": "dci-client",
            "client_secret": "dci-secret-value",
            "page_size": str(page_size),
            "timeout": "60",
        }.items():
            ICP.set_param("spp_attendance.registry_" + key, value)
        env["spp.attendance.import.log"]._seed_registry_params()
        log = env["spp.attendance.import.log"]._start(background=True)
        cr.commit()
        start = time.perf_counter()
        samples = []
        # The page jobs, run one after the other in this process as the job
        # runner would have them run (each one committed): no HTTP round trip
        # to /queue_job/runjob is counted.
        while log.state == "running":
            log._job_import_page(log.next_page)
            cr.commit()
            env.invalidate_all()
            samples.append(rss_mib())
        elapsed = time.perf_counter() - start
        log.invalidate_recordset()
        if log.state != "done":
            raise RuntimeError(
                f"import {log.id} ended {log.state}: {log.error_message}"
            )
        counts = (log.created_count, log.updated_count, log.unchanged_count)
        received = log.received_count
    if received != population:
        raise RuntimeError(f"received {received} of {population}")
    first = samples[0]
    return {
        "label": label,
        "persons": population,
        "pages": len(samples),
        "seconds": elapsed,
        "rate": population / elapsed,
        "counts": counts,
        "rss_first_page": first,
        "rss_peak": max(samples),
        "rss_growth": max(samples) - first,
    }


def clear_subscribers(registry):
    with registry.cursor() as cr:
        cr.execute(
            "DELETE FROM spp_attendance_subscriber WHERE person_identifier LIKE 'UIN%' "
            "RETURNING partner_id"
        )
        partner_ids = [row[0] for row in cr.fetchall()]
        if partner_ids:
            cr.execute("DELETE FROM res_partner WHERE id = ANY(%s)", (partner_ids,))
        cr.execute("DELETE FROM spp_attendance_import_log")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("-c", "--config", required=True)
    parser.add_argument("-d", "--database", required=True)
    parser.add_argument("--sizes", default="10000,50000,100000")
    parser.add_argument("--page-size", type=int, default=1000)
    args = parser.parse_args()

    import odoo

    odoo.tools.config.parse_config(
        ["-c", args.config, "-d", args.database, "--log-level=warn", "--logfile="]
    )
    registry = odoo.modules.registry.Registry(args.database)
    print(
        "| run | persons | pages | seconds | persons/s | created/updated/unchanged "
        "| RSS after page 1 (MiB) | peak RSS (MiB) | growth (MiB) |"
    )
    print("|---|---:|---:|---:|---:|---|---:|---:|---:|")
    for size in (int(s) for s in args.sizes.split(",")):
        clear_subscribers(registry)
        emulator, url = start_emulator(size)
        try:
            for label in ("first import", "re-import"):
                result = run_import(registry, label, size, args.page_size, url)
                print(
                    "| {label} | {persons} | {pages} | {seconds:.1f} | {rate:.0f} | "
                    "{counts[0]}/{counts[1]}/{counts[2]} | {rss_first_page:.0f} | "
                    "{rss_peak:.0f} | {rss_growth:.1f} |".format(**result),
                    flush=True,
                )
        finally:
            emulator.terminate()
            emulator.wait()
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"\nprocess peak RSS (ru_maxrss): {peak:.0f} MiB")
    clear_subscribers(registry)


if __name__ == "__main__":
    main()
