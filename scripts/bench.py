"""Benchmark: refresh parents against the WeCom simulator and print what it costs.

    python scripts/bench.py                        # what `make bench` runs: SQLite and PostgreSQL
    python scripts/bench.py --parents 500 --big 0  # a quick look
    python scripts/bench.py --database sqlite      # one database only

The simulator runs in its own process and answers every call after --latency-ms. For each
database (a SQLite file in a temporary folder; a PostgreSQL database of its own, emptied),
each measurement is a fresh process calling `refresh_contacts` with the parents' ids:

- first sync: N parents never stored before, at concurrency 8;
- unchanged re-sync: the same N, nothing changed at WeCom, at concurrency 8 and 32;
- 5% changed: a teacher's remark edited "in WeCom" for every 20th parent, then a re-sync;
- a plain loop beside it, in the same run against the same simulator: a sequential loop that
  fetches each parent with requests and stores the raw answer and its follow users in one table
  each (what a school's own script with an SDK would do), over the first --plain parents;
- a rate-limited run: 900 parents with a budget of 600 calls a minute, counted where WeCom
  counts (the simulator): the busiest minute of the clock and the busiest 60 seconds;
- the big run: --big parents synced, then re-synced unchanged: the database's growth and the
  refreshing process's peak memory.

CPU is the refreshing process's user + system time, measured around the refresh only (not
Django's start-up), divided by the parents. The concurrency-32 run also reads the CPU time of
the simulator and of the database server from /proc: on two shared cores, that says which of
the three bounds the run.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
CORP_ID = "wwbenchschool0001"
SECRET = "bench-app-secret"  # noqa: S105 - the simulator's, for this run only
POSTGRES_URL = "postgres://postgres@127.0.0.1:5432/schoolcontacts_bench"
UNLIMITED = 10**9
LIMITED_RATE = 600
LIMITED_PARENTS = 900
CHANGED_EVERY = 20  # 5%
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


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
        # The production cache: the rate limiter and the token cost what they cost there.
        "CACHE_URL": os.environ.get("BENCH_CACHE_URL", "redis://127.0.0.1:6379/10"),
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


# -- the simulator ---------------------------------------------------------------------------


class Simulator:
    def __init__(self, *, parents: int, latency_ms: int, env: dict[str, str]) -> None:
        self.port = free_port()
        self.api_base = f"http://127.0.0.1:{self.port}/cgi-bin"
        self.process = subprocess.Popen(
            [
                sys.executable,
                str(ROOT / "manage.py"),
                "wecom_sandbox",
                "--port",
                str(self.port),
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
                self._control("GET", "info").raise_for_status()
                return
            except requests.RequestException:
                time.sleep(0.1)
        self.process.kill()
        raise SystemExit("The WeCom simulator did not start.")

    def _control(self, method: str, path: str, **kwargs) -> requests.Response:
        return requests.request(method, f"http://127.0.0.1:{self.port}/sandbox/{path}", timeout=10, **kwargs)

    def stats(self, *, reset: bool = False) -> dict:
        answer = self._control("DELETE" if reset else "GET", "stats")
        answer.raise_for_status()
        return answer.json()

    def edit_remark(self, external_userid: str, userid: str, remark: str) -> None:
        self._control("POST", f"contacts/{external_userid}/follow_users/{userid}", json={"remark": remark})

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=10)


def cpu_seconds(pids: list[int], *, with_children: bool = False) -> float:
    """User + system CPU of these processes so far, from /proc (0 for one that is gone); with
    `with_children`, also that of their children that have ended (a database server's backends)."""
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])  # utime, stime
        if with_children:
            total += int(fields[13]) + int(fields[14])  # cutime, cstime
    return total / CLOCK_TICKS


def postgres_server_pids() -> list[int]:
    """The PostgreSQL servers' main processes: their counts include every backend that has ended."""
    pids = []
    for comm in Path("/proc").glob("[0-9]*/comm"):
        try:
            if comm.read_text().strip() != "postgres":
                continue
            parent = int(Path(comm.parent, "stat").read_text().rsplit(")", 1)[1].split()[1])
            if Path(f"/proc/{parent}/comm").read_text().strip() != "postgres":
                pids.append(int(comm.parent.name))
        except (OSError, ValueError):
            continue
    return pids


# -- one measured run, in a fresh process ---------------------------------------------------


def measure(
    *, env: dict[str, str], simulator: Simulator, school_size: int, parents: int, concurrency: int, rate: int
) -> dict:
    simulator.stats(reset=True)
    clear_cache(env)
    run_env = {
        **env,
        "WECOM_CONCURRENCY": str(concurrency),
        "WECOM_RATE_PER_MINUTE": str(rate),
        "BENCH_SCHOOL_SIZE": str(school_size),
    }
    database = postgres_server_pids() if env["DATABASE_URL"].startswith("postgres") else []
    others_before = cpu_seconds([simulator.process.pid]), cpu_seconds(database, with_children=True)
    done = subprocess.run(
        [sys.executable, __file__, "--measure", str(parents)],
        env=run_env,
        cwd=ROOT,
        check=True,
        capture_output=True,
        text=True,
    )
    result = json.loads(done.stdout.strip().splitlines()[-1])
    stats = simulator.stats()
    result.update(
        concurrency=concurrency,
        rate=rate,
        wecom_calls=stats["total"],
        gettoken=stats["gettoken"],
        busiest_minute=stats["busiest_clock_minute"],
        busiest_60s=stats["busiest_60_seconds"],
        simulator_cpu=cpu_seconds([simulator.process.pid]) - others_before[0],
        database_cpu=cpu_seconds(database, with_children=True) - others_before[1],
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
    usage = resource.getrusage(resource.RUSAGE_SELF)
    cpu_before = usage.ru_utime + usage.ru_stime
    started = time.perf_counter()
    try:
        call_command("refresh_contacts", *external_userids, stdout=output, stderr=output)
        failed = 0
    except SystemExit:
        failed = output.getvalue().count("FAILED")
    seconds = time.perf_counter() - started
    usage = resource.getrusage(resource.RUSAGE_SELF)
    print(
        json.dumps(
            {
                "parents": len(external_userids),
                "failed": failed,
                "seconds": seconds,
                "cpu": usage.ru_utime + usage.ru_stime - cpu_before,
                "queries": queries[0],
                "peak_mib": usage.ru_maxrss / 1024,
            }
        )
    )


def clear_cache(env: dict[str, str]) -> None:
    """Each run starts with no token and no rate-limit counts left by the one before."""
    import redis

    if env["CACHE_URL"].startswith("redis"):
        redis.Redis.from_url(env["CACHE_URL"]).flushdb()


# -- the plain loop -------------------------------------------------------------------------

PLAIN_TABLES = (
    "CREATE TABLE IF NOT EXISTS plain_contact (external_userid TEXT PRIMARY KEY, answer TEXT NOT NULL)",
    "CREATE TABLE IF NOT EXISTS plain_follow_user (external_userid TEXT NOT NULL, userid TEXT NOT NULL, "
    "remark TEXT, description TEXT, createtime BIGINT, tags TEXT, PRIMARY KEY (external_userid, userid))",
)


def plain_run(parents: int) -> None:
    """In a fresh process: the plain sequential loop over the first `parents` parents."""
    import resource

    from contacts.sandbox.school import build_school

    external_userids = build_school(parents=int(os.environ["BENCH_SCHOOL_SIZE"]), seed=1).external_userids(
        include_lost=False
    )[:parents]
    database_url, api = os.environ["DATABASE_URL"], os.environ["WECOM_API_BASE"]
    if database_url.startswith("sqlite"):
        db = sqlite3.connect(database_url.removeprefix("sqlite:///"))
        mark = "?"
    else:
        import psycopg

        db = psycopg.connect(database_url)
        mark = "%s"
    for statement in PLAIN_TABLES:
        db.execute(statement)
    db.commit()
    upsert = (
        f"INSERT INTO plain_contact VALUES ({mark}, {mark}) "  # noqa: S608 - placeholders only
        "ON CONFLICT (external_userid) DO UPDATE SET answer = excluded.answer"
    )
    clear = f"DELETE FROM plain_follow_user WHERE external_userid = {mark}"  # noqa: S608
    insert = f"INSERT INTO plain_follow_user VALUES ({', '.join([mark] * 6)})"  # noqa: S608

    usage = resource.getrusage(resource.RUSAGE_SELF)
    cpu_before = usage.ru_utime + usage.ru_stime
    started = time.perf_counter()
    http = requests.Session()
    token = http.get(f"{api}/gettoken", params={"corpid": CORP_ID, "corpsecret": SECRET}, timeout=10).json()
    for external_userid in external_userids:
        answer = http.get(
            f"{api}/externalcontact/get",
            params={"access_token": token["access_token"], "external_userid": external_userid},
            timeout=10,
        ).json()
        contact = answer["external_contact"]
        cursor = db.cursor()
        cursor.execute(upsert, (external_userid, json.dumps(contact, ensure_ascii=False)))
        cursor.execute(clear, (external_userid,))
        for follow in answer.get("follow_user", []):
            cursor.execute(
                insert,
                (
                    external_userid,
                    follow["userid"],
                    follow.get("remark"),
                    follow.get("description"),
                    follow.get("createtime"),
                    json.dumps(follow.get("tags", []), ensure_ascii=False),
                ),
            )
        db.commit()
    seconds = time.perf_counter() - started
    usage = resource.getrusage(resource.RUSAGE_SELF)
    print(
        json.dumps(
            {"parents": len(external_userids), "seconds": seconds, "cpu": usage.ru_utime + usage.ru_stime - cpu_before}
        )
    )


def measure_plain(*, env: dict[str, str], school_size: int, parents: int) -> dict:
    done = subprocess.run(
        [sys.executable, __file__, "--plain-run", str(parents)],
        env={**env, "BENCH_SCHOOL_SIZE": str(school_size)},
        cwd=ROOT,
        check=True,
        capture_output=True,
        text=True,
    )
    return json.loads(done.stdout.strip().splitlines()[-1])


# -- databases ------------------------------------------------------------------------------


def database_bytes(database_url: str) -> int:
    if database_url.startswith("sqlite"):
        path = Path(database_url.removeprefix("sqlite:///"))
        with sqlite3.connect(path) as db:
            db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        return sum(p.stat().st_size for p in path.parent.glob(path.name + "*"))
    import psycopg

    with psycopg.connect(database_url) as db:
        db.execute("CHECKPOINT")
        return db.execute("SELECT pg_database_size(current_database())").fetchone()[0]


def empty_postgres(database_url: str) -> None:
    import psycopg
    from psycopg import sql

    name = database_url.rsplit("/", 1)[-1]
    with psycopg.connect(database_url.rsplit("/", 1)[0] + "/postgres", autocommit=True) as db:
        db.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
        db.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))


# -- the report -----------------------------------------------------------------------------


def ms_per_parent(result: dict) -> float:
    return 1000 * result["cpu"] / result["parents"]


def of_ideal(result: dict, latency_ms: int) -> float:
    return result["parents"] * latency_ms / 1000 / result["concurrency"] / result["seconds"]


def run_line(name: str, result: dict, latency_ms: int) -> str:
    return (
        f"| {name} | {result['parents']:,} | {result['concurrency']} | {result['seconds']:.1f} s "
        f"| {of_ideal(result, latency_ms):.0%} | {ms_per_parent(result):.2f} ms "
        f"| {result['queries'] / result['parents']:.2f} | {result['wecom_calls'] / result['parents']:.2f} "
        f"| {result['gettoken']} | {result['peak_mib']:.0f} MiB | {result['failed']} |"
    )


RUN_HEADER = (
    "| run | parents | concurrency | time | of ideal | CPU/parent | SQL/parent | WeCom calls/parent | gettoken "
    "| peak memory | failed |\n|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
)


def bench_database(*, label: str, database_url: str, simulator: Simulator, options, school_size: int) -> dict:
    from contacts.sandbox.school import build_school

    env = base_env(database_url, simulator.api_base)
    manage(env, "migrate", "--noinput", "-v0")
    latency, parents = options.latency_ms, options.parents
    run = dict(env=env, simulator=simulator, school_size=school_size, rate=UNLIMITED)
    results: dict[str, dict] = {}
    print(f"\n## {label}\n\n{RUN_HEADER}", flush=True)

    def record(name: str, result: dict) -> None:
        results[name] = result
        print(run_line(name, result, latency), flush=True)

    record("first sync", measure(**run, parents=parents, concurrency=options.concurrency))
    record("unchanged re-sync", measure(**run, parents=parents, concurrency=options.concurrency))
    external_userids = build_school(parents=school_size, seed=1).external_userids(include_lost=False)[:parents]
    changed = external_userids[::CHANGED_EVERY]
    stamp = int(time.time())
    for external_userid in changed:
        follow = requests.get(
            f"{simulator.api_base}/externalcontact/get",
            params={"access_token": _token(simulator), "external_userid": external_userid},
            timeout=10,
        ).json()["follow_user"][0]
        simulator.edit_remark(external_userid, follow["userid"], f"{follow.get('remark') or ''}·{stamp}")
    record("5% changed", measure(**run, parents=parents, concurrency=options.concurrency))
    record("unchanged, concurrency 32", measure(**run, parents=parents, concurrency=32))
    wide = results["unchanged, concurrency 32"]
    limited = measure(**{**run, "rate": LIMITED_RATE}, parents=LIMITED_PARENTS, concurrency=options.concurrency)
    plain_first = measure_plain(env=env, school_size=school_size, parents=options.plain)
    plain_again = measure_plain(env=env, school_size=school_size, parents=options.plain)

    big = None
    if options.big:
        manage(env, "flush", "--noinput", "-v0")
        record("big: first sync", measure(**run, parents=options.big, concurrency=options.concurrency))
        before = database_bytes(database_url)
        record("big: unchanged re-sync", measure(**run, parents=options.big, concurrency=options.concurrency))
        big = {"growth": database_bytes(database_url) - before, "peak": results["big: unchanged re-sync"]["peak_mib"]}

    plain_ms = ms_per_parent(plain_first), ms_per_parent(plain_again)
    print(
        f"\nPlain sequential loop over {plain_first['parents']:,} parents: {plain_ms[0]:.2f} ms CPU per parent "
        f"(first), {plain_ms[1]:.2f} ms (again); {plain_first['seconds']:.1f} s."
    )
    wall = wide["seconds"]
    print(
        f"Concurrency 32, unchanged: {of_ideal(wide, latency):.0%} of the ideal. CPU used, in cores of 2: "
        f"the app {wide['cpu'] / wall:.2f}, the simulator {wide['simulator_cpu'] / wall:.2f}, "
        f"the database server {wide['database_cpu'] / wall:.2f}."
    )
    print(
        f"Rate limit {LIMITED_RATE}/min, {LIMITED_PARENTS} parents: {limited['seconds']:.1f} s; busiest minute of "
        f"the clock {limited['busiest_minute']}, busiest 60 s {limited['busiest_60s']}."
    )
    if big:
        print(
            f"{options.big:,} parents re-synced unchanged: the database grew by {big['growth'] / 1024:.0f} KiB; "
            f"peak memory {big['peak']:.0f} MiB."
        )
    unchanged = results["unchanged re-sync"]
    print(
        f"Against the plain loop: unchanged {ms_per_parent(unchanged) / plain_ms[1]:.2f}x its CPU per parent, "
        f"changed (first sync) {ms_per_parent(results['first sync']) / plain_ms[0]:.2f}x.",
        flush=True,
    )
    return results


def _token(simulator: Simulator) -> str:
    answer = requests.get(
        f"{simulator.api_base}/gettoken", params={"corpid": CORP_ID, "corpsecret": SECRET}, timeout=10
    )
    return answer.json()["access_token"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--parents", type=int, default=2000)
    parser.add_argument("--big", type=int, default=20000, help="parents of the growth and memory run; 0 skips it")
    parser.add_argument("--plain", type=int, default=500, help="parents of the plain loop (it runs one at a time)")
    parser.add_argument("--latency-ms", type=int, default=50)
    parser.add_argument("--concurrency", type=int, default=8, help="the default WECOM_CONCURRENCY")
    parser.add_argument("--database", choices=["sqlite", "postgresql"], action="append")
    parser.add_argument("--postgres-url", default=os.environ.get("BENCH_POSTGRES_URL", POSTGRES_URL))
    parser.add_argument("--measure", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--plain-run", dest="plain_run", type=int, help=argparse.SUPPRESS)
    options = parser.parse_args()
    if options.measure:
        measured_run(options.measure)
        return
    if options.plain_run:
        plain_run(options.plain_run)
        return

    databases = options.database or ["sqlite", "postgresql"]
    with tempfile.TemporaryDirectory(prefix="schoolcontacts-bench-") as folder:
        sqlite_url = f"sqlite:///{Path(folder) / 'bench.sqlite3'}"
        school_size = max(options.parents, options.big, LIMITED_PARENTS) * 6 // 5
        simulator = Simulator(parents=school_size, latency_ms=options.latency_ms, env=base_env(sqlite_url, ""))
        print(f"WeCom simulator latency {options.latency_ms} ms; ideal = parents x latency / concurrency")
        try:
            for database in databases:
                if database == "sqlite":
                    url = sqlite_url
                else:
                    empty_postgres(options.postgres_url)
                    url = options.postgres_url
                label = "SQLite" if database == "sqlite" else "PostgreSQL"
                bench_database(
                    label=label, database_url=url, simulator=simulator, options=options, school_size=school_size
                )
        finally:
            simulator.stop()


if __name__ == "__main__":
    main()
