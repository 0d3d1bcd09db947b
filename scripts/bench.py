"""Benchmark: refresh parents against the WeCom simulator and print what it costs.

    python scripts/bench.py                       # what `make bench` runs
    python scripts/bench.py --parents 500 --big 0 # a quick look

Each measurement runs in a fresh process on a freshly flushed database (a SQLite file
in a temporary folder, or --database-url), against the simulator in its own process
with --latency-ms per answer, and reports:

- parents per second, and the ratio to the ideal N x latency / concurrency;
- SQL queries per parent (every statement of every thread, counted as executed);
- WeCom calls per parent and gettoken calls (one access token for all);
- the peak resident memory of the refreshing process.

The rate limiter is part of the product, not of the machinery measured: the
concurrency runs set WECOM_RATE_PER_MINUTE above what they can reach, and one run of
900 parents with a budget of 600 calls a minute shows the limiter holding it back,
counted where WeCom would count: the most calls the simulator saw in one minute of the
clock (the limiter's window) and in any 60 seconds.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parent.parent
CORP_ID = "wwbenchschool0001"
SECRET = "bench-app-secret"  # noqa: S105 - the simulator's, for this run only


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def base_env(database_url: str, api_base: str) -> dict[str, str]:
    return {
        **os.environ,
        "IGNORE_DOTENV": "on",
        "DEBUG": "off",
        "SECRET_KEY": "bench-only-" + "k" * 50,
        "SECURE_SSL_REDIRECT": "off",
        "DATABASE_URL": database_url,
        "CACHE_URL": "locmemcache://",
        "TASK_BACKEND": "immediate",
        "LOG_LEVEL": "WARNING",
        "WECOM_CORP_ID": CORP_ID,
        "WECOM_SECRET": SECRET,
        "WECOM_API_BASE": api_base,
        "WECOM_TIMEOUT": "10",
        "PYTHONPATH": str(ROOT),
        "DJANGO_SETTINGS_MODULE": "schoolcontacts.settings",
    }


def manage(env: dict[str, str], *args: str) -> None:
    subprocess.run([sys.executable, str(ROOT / "manage.py"), *args], env=env, check=True, cwd=ROOT)


def start_simulator(*, port: int, parents: int, latency_ms: int, env: dict[str, str]) -> subprocess.Popen:
    simulator = subprocess.Popen(
        [
            sys.executable,
            str(ROOT / "manage.py"),
            "wecom_sandbox",
            "--port",
            str(port),
            "--parents",
            str(parents),
            "--latency-ms",
            str(latency_ms),
            "--corp-id",
            CORP_ID,
            "--secret",
            SECRET,
        ],
        env={**env, "DEBUG": "on"},
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    for _ in range(100):
        try:
            requests.get(f"http://127.0.0.1:{port}/sandbox/info", timeout=1).raise_for_status()
            return simulator
        except requests.RequestException:
            time.sleep(0.1)
    simulator.kill()
    raise SystemExit("The WeCom simulator did not start.")


def simulator_stats(port: int, *, reset: bool = False) -> dict:
    answer = requests.request("DELETE" if reset else "GET", f"http://127.0.0.1:{port}/sandbox/stats", timeout=5)
    answer.raise_for_status()
    return answer.json() if answer.content else {}


def measure(*, env: dict[str, str], port: int, school_size: int, parents: int, concurrency: int, rate: int) -> dict:
    manage(env, "flush", "--noinput")
    simulator_stats(port, reset=True)
    run_env = {
        **env,
        "WECOM_CONCURRENCY": str(concurrency),
        "WECOM_RATE_PER_MINUTE": str(rate),
        "BENCH_SCHOOL_SIZE": str(school_size),
    }
    done = subprocess.run(
        [sys.executable, __file__, "--measure", str(parents)],
        env=run_env,
        cwd=ROOT,
        check=True,
        capture_output=True,
        text=True,
    )
    result = json.loads(done.stdout.strip().splitlines()[-1])
    stats = simulator_stats(port)
    result.update(
        concurrency=concurrency,
        rate=rate,
        wecom_calls=stats["total"],
        gettoken=stats["gettoken"],
        max_in_flight=stats["max_in_flight"],
        busiest_minute=stats["busiest_clock_minute"],
        busiest_60s=stats["busiest_60_seconds"],
    )
    return result


def measured_run(parents: int) -> None:
    """In a fresh process: refresh the first `parents` parents, print the figures as JSON."""
    import resource
    import threading
    from io import StringIO

    import django

    django.setup()
    from django.core.management import call_command
    from django.db.backends.signals import connection_created

    from contacts.models import ExternalContact
    from contacts.sandbox.school import build_school

    counter_lock = threading.Lock()
    queries = [0]

    def count(execute, sql, params, many, context):
        with counter_lock:
            queries[0] += 1
        return execute(sql, params, many, context)

    def install_counter(sender, connection, **kwargs):
        connection.execute_wrappers.append(count)

    connection_created.connect(install_counter)
    school = build_school(parents=int(os.environ["BENCH_SCHOOL_SIZE"]), seed=1)
    external_userids = school.external_userids(include_lost=False)[:parents]
    output = StringIO()
    started = time.perf_counter()
    try:
        call_command("refresh_contacts", *external_userids, stdout=output, stderr=output)
        failed = 0
    except SystemExit:
        failed = output.getvalue().count("FAILED")
    seconds = time.perf_counter() - started
    stored = ExternalContact.objects.count()
    peak_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(
        json.dumps(
            {
                "parents": len(external_userids),
                "stored": stored,
                "failed": failed,
                "seconds": seconds,
                "queries": queries[0],
                "peak_mib": peak_kib / 1024,
            }
        )
    )


def report_line(result: dict, latency_ms: int) -> str:
    ideal = result["parents"] * latency_ms / 1000 / result["concurrency"]
    rate = "off" if result["rate"] == UNLIMITED else f"{result['rate']}/min"
    return (
        f"| {result['parents']:>6} | {result['concurrency']:>2} | {rate:>12} | {result['seconds']:7.1f} s "
        f"| {result['parents'] / result['seconds']:7.1f} | {ideal / result['seconds']:5.0%} "
        f"| {result['queries'] / result['parents']:5.1f} | {result['wecom_calls'] / result['parents']:4.2f} "
        f"| {result['gettoken']} | {result['max_in_flight']:>2} "
        f"| {result['busiest_minute']} / {result['busiest_60s']} | {result['peak_mib']:6.1f} MiB "
        f"| {result['stored']} stored, {result['failed']} failed |"
    )


HEADER = (
    "| parents | conc. | rate limit | time | parents/s | of ideal | SQL/parent | WeCom calls/parent "
    "| gettoken | max in flight | busiest clock minute / 60 s | peak memory | result |\n"
    "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|"
)
# A budget the rate-limited run must exceed, so that the limiter has to hold it back.
LIMITED_RATE = 600
LIMITED_PARENTS = 900
UNLIMITED = 10**9


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--parents", type=int, default=2000)
    parser.add_argument("--big", type=int, default=20000, help="parents of the memory run; 0 skips it")
    parser.add_argument("--latency-ms", type=int, default=50)
    parser.add_argument("--concurrency", type=int, default=8, help="the default WECOM_CONCURRENCY")
    parser.add_argument("--database-url", help="default: a SQLite file in a temporary folder")
    parser.add_argument("--measure", type=int, help=argparse.SUPPRESS)
    options = parser.parse_args()
    if options.measure:
        measured_run(options.measure)
        return

    port = free_port()
    with tempfile.TemporaryDirectory(prefix="schoolcontacts-bench-") as folder:
        database_url = options.database_url or f"sqlite:///{Path(folder) / 'bench.sqlite3'}"
        env = base_env(database_url, f"http://127.0.0.1:{port}/cgi-bin")
        manage(env, "migrate", "--noinput", "-v0")
        # Lost and unsubscribed parents have no detail to fetch: a school this much larger has enough.
        school_size = max(options.parents, options.big, LIMITED_PARENTS) * 6 // 5
        simulator = start_simulator(port=port, parents=school_size, latency_ms=options.latency_ms, env=env)
        try:
            runs = [
                dict(parents=options.parents, concurrency=1, rate=UNLIMITED),
                dict(parents=options.parents, concurrency=options.concurrency, rate=UNLIMITED),
                dict(parents=LIMITED_PARENTS, concurrency=options.concurrency, rate=LIMITED_RATE),
            ]
            if options.big:
                runs.append(dict(parents=options.big, concurrency=options.concurrency, rate=UNLIMITED))
            print(f"WeCom simulator latency {options.latency_ms} ms; database {database_url.split(':')[0]}")
            print(HEADER)
            for run in runs:
                result = measure(env=env, port=port, school_size=school_size, **run)
                print(report_line(result, options.latency_ms), flush=True)
        finally:
            simulator.terminate()
            simulator.wait(timeout=10)


if __name__ == "__main__":
    main()
