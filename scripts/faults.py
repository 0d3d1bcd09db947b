"""Faults tried against real processes: what an operator sees when something breaks.

    python scripts/faults.py                  # what `make faults` runs (about 15 minutes)
    python scripts/faults.py --only worker    # one scenario: worker, callback, export, event, ratelimit, cache

It starts the pieces of a production setup on this machine: the WeCom simulator (its own
process, 50 ms per answer), the app under gunicorn, `db_worker` processes for the default
queue and the callbacks queue, all on PostgreSQL (a database of its own, created and
emptied here) and Redis (one database number, emptied here). Then, in turn:

- worker:    a whole-school sync runs on two workers; one is killed with SIGKILL while it
             holds claimed parents. Printed: how long until the other takes them back, and
             the job's final counts.
- callback:  a teacher edits a remark "in WeCom" in the middle of a whole-school sync.
             Printed: how long until the parent's page shows it.
- export:    a worker is killed with SIGKILL while it writes a parent list to Excel; another worker
             is started. Printed: how long until the export is written all the same.
- event:     a callbacks worker is killed with SIGKILL while it applies a WeCom event (WeCom is
             slow to answer it); another is started. Printed: how long until the event is applied.
- ratelimit: WeCom answers 45009 to every call. Printed: how long `refresh_contacts` for one
             parent and a whole-school job take to give up, and what each says.
- cache:     the shared cache (Redis) is unreachable. Printed: what `refresh_contacts` and the
             refresh button answer, and that the stored parent is untouched.

docs/operations.md gives the figures and what an operator does in each case.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parent.parent
CORP_ID = "wwfaultschool0001"
SECRET = "faults-app-secret"  # noqa: S105 - the simulator's, for this run only
CALLBACK_TOKEN = "faults-callback-token"  # noqa: S105
CALLBACK_AES_KEY = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"
ADMIN_USER, ADMIN_PASSWORD = "faults-admin", "faults-admin-password"
SCENARIOS = ("worker", "callback", "export", "event", "ratelimit", "cache")
UNREACHABLE_REDIS = "redis://127.0.0.1:1/0"  # nothing listens on port 1


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_until(predicate: Callable[[], object], *, timeout: float, what: str, every: float = 0.1) -> float:
    """Seconds until `predicate` holds; SystemExit after `timeout`."""
    started = time.monotonic()
    while not predicate():
        if time.monotonic() - started > timeout:
            raise SystemExit(f"Timed out after {timeout:.0f} s waiting for {what}.")
        time.sleep(every)
    return time.monotonic() - started


class Deployment:
    """The processes of one setup; every one of them is stopped on exit."""

    def __init__(self, *, database_url: str, cache_url: str, parents: int, latency_ms: int, logs: Path) -> None:
        self.sandbox_port = free_port()
        self.app_port = free_port()
        self.parents = parents
        self.latency_ms = latency_ms
        self.logs = logs
        self.processes: dict[str, subprocess.Popen] = {}
        self.env = {
            **os.environ,
            "IGNORE_DOTENV": "on",
            "DEBUG": "off",
            "SECRET_KEY": "faults-only-" + "k" * 50,
            "SECURE_SSL_REDIRECT": "off",
            "SESSION_COOKIE_SECURE": "off",
            "CSRF_COOKIE_SECURE": "off",
            "ALLOWED_HOSTS": "127.0.0.1,localhost",
            "DATABASE_URL": database_url,
            "CACHE_URL": cache_url,
            "TASK_BACKEND": "database",
            "LOG_LEVEL": "WARNING",
            "WECOM_CORP_ID": CORP_ID,
            "WECOM_SECRET": SECRET,
            "WECOM_API_BASE": f"http://127.0.0.1:{self.sandbox_port}/cgi-bin",
            "WECOM_TIMEOUT": "5",
            "WECOM_CALLBACK_TOKEN": CALLBACK_TOKEN,
            "WECOM_CALLBACK_AES_KEY": CALLBACK_AES_KEY,
            "EXPORT_ROOT": str(logs / "exports"),
            "PYTHONPATH": str(ROOT),
            "DJANGO_SETTINGS_MODULE": "schoolcontacts.settings",
        }

    # -- processes --------------------------------------------------------------------

    def start(self, name: str, *args: str, env: dict[str, str] | None = None) -> subprocess.Popen:
        log = (self.logs / f"{name}.log").open("ab")
        process = subprocess.Popen(
            [sys.executable, *args], cwd=ROOT, env=env or self.env, stdout=log, stderr=subprocess.STDOUT
        )
        self.processes[name] = process
        return process

    def stop(self, name: str, sig: int = signal.SIGTERM) -> None:
        process = self.processes.pop(name, None)
        if process is None or process.poll() is not None:
            return
        process.send_signal(sig)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()

    def stop_all(self) -> None:
        for name in list(self.processes):
            self.stop(name)

    def manage(
        self, *args: str, env: dict[str, str] | None = None, timeout: float = 600
    ) -> subprocess.CompletedProcess:
        return subprocess.run(
            [sys.executable, "manage.py", *args],
            cwd=ROOT,
            env=env or self.env,
            capture_output=True,
            text=True,
            timeout=timeout,
        )

    def start_simulator(self) -> None:
        self.start(
            "simulator",
            "manage.py",
            "wecom_sandbox",
            "--port",
            str(self.sandbox_port),
            "--parents",
            str(self.parents),
            "--latency-ms",
            str(self.latency_ms),
            "--corp-id",
            CORP_ID,
            "--secret",
            SECRET,
            "--callback-url",
            f"http://127.0.0.1:{self.app_port}/wecom/callback/",
            env={**self.env, "DEBUG": "on"},
        )
        wait_until(lambda: self._answers(f"{self.sandbox_url}/info"), timeout=30, what="the WeCom simulator")

    def start_app(self) -> None:
        self.start(
            "gunicorn",
            "-m",
            "gunicorn",
            "schoolcontacts.wsgi",
            "--bind",
            f"127.0.0.1:{self.app_port}",
            "--workers",
            "2",
            "--threads",
            "4",
        )
        wait_until(lambda: self._answers(f"{self.app_url}/healthz"), timeout=30, what="gunicorn")

    def start_worker(self, worker_id: str, *, queue: str = "default") -> subprocess.Popen:
        return self.start(
            worker_id,
            "manage.py",
            "db_worker",
            "--queue-name",
            queue,
            "--worker-id",
            worker_id,
            "--interval",
            "0.2",
            "--no-reload",
            "--no-startup-delay",
        )

    @property
    def sandbox_url(self) -> str:
        return f"http://127.0.0.1:{self.sandbox_port}/sandbox"

    @property
    def app_url(self) -> str:
        return f"http://127.0.0.1:{self.app_port}"

    @staticmethod
    def _answers(url: str) -> bool:
        try:
            requests.get(url, timeout=1)
        except requests.RequestException:
            return False
        return True

    def set_faults(self, **faults: object) -> None:
        requests.post(f"{self.sandbox_url}/faults", json=faults, timeout=5).raise_for_status()

    def clear_faults(self) -> None:
        requests.delete(f"{self.sandbox_url}/faults", timeout=5).raise_for_status()


@contextlib.contextmanager
def deployment(options: argparse.Namespace) -> Iterator[Deployment]:
    with tempfile.TemporaryDirectory(prefix="schoolcontacts-faults-") as folder:
        setup = Deployment(
            database_url=options.database_url,
            cache_url=options.cache_url,
            parents=options.parents,
            latency_ms=options.latency_ms,
            logs=Path(folder),
        )
        # This process reads and starts jobs in the same database as the processes it starts.
        os.environ.update(setup.env)
        prepare_database(setup)
        try:
            setup.start_simulator()
            setup.start_app()
            yield setup
        finally:
            setup.stop_all()
            if options.keep_logs:
                for log in Path(folder).glob("*.log"):
                    print(f"--- {log.name}\n{log.read_text(errors='replace')[-4000:]}")


def prepare_database(setup: Deployment) -> None:
    import django

    sys.path.insert(0, str(ROOT))
    django.setup()
    from django.contrib.auth import get_user_model
    from django.core.cache import cache
    from django.core.management import call_command

    call_command("migrate", "--noinput", verbosity=0)
    call_command("flush", "--noinput", verbosity=0)
    call_command("migrate", "--noinput", verbosity=0)  # flush empties the staff groups too
    cache.clear()
    get_user_model().objects.create_superuser(ADMIN_USER, password=ADMIN_PASSWORD)


# -- scenarios ----------------------------------------------------------------------------


def start_sync_job():
    from contacts.models import JobKind
    from contacts.services.jobs import start_job

    return start_job(kind=JobKind.SYNC_SCHOOL)


def job_active(job) -> bool:
    from contacts.models.jobs import ACTIVE_STATUSES

    return type(job).objects.filter(pk=job.pk, status__in=ACTIVE_STATUSES).exists()


def job_counts(job) -> str:
    from contacts.models import JobItemStatus
    from contacts.selectors import job_progress

    job.refresh_from_db()
    progress = job_progress(job=job)
    errcodes = Counter(job.items.filter(status=JobItemStatus.FAILED).values_list("errcode", flat=True))
    why = ", ".join(f"{count} with errcode {errcode}" for errcode, count in sorted(errcodes.items(), key=str))
    return (
        f"status {job.status}, {progress.total} parents: {progress.done} done ({progress.created} new, "
        f"{progress.changed} changed), {progress.failed} failed{f' ({why})' if why else ''}, {progress.left} left"
        + (f", {progress.taken_back} taken back from a dead worker" if progress.taken_back else "")
    )


def scenario_worker(setup: Deployment) -> None:
    from contacts.models import JobItem, JobItemStatus

    print("\n## A worker killed in the middle of a whole-school sync")
    setup.start_worker("worker-1")
    setup.start_worker("worker-2")
    job = start_sync_job()
    held = JobItem.objects.filter(job=job, claimed_by="worker-1", status=JobItemStatus.PENDING)
    wait_until(lambda: held.count() >= 20, timeout=120, what="worker-1 to hold claimed parents")
    stranded = held.count()
    killed_at = time.monotonic()
    setup.stop("worker-1", signal.SIGKILL)
    print(f"- killed worker-1 (SIGKILL) while it held {stranded} claimed parents")
    taken_back = wait_until(lambda: not held.exists(), timeout=600, what="the killed worker's parents to be taken back")
    print(f"- its parents were taken back by worker-2 after {taken_back:.0f} s")
    wait_until(lambda: not job_active(job), timeout=900, what="the job to end")
    print(f"- the job ended {time.monotonic() - killed_at:.0f} s after the kill: {job_counts(job)}")
    setup.stop("worker-2")


def scenario_callback(setup: Deployment) -> None:
    from contacts.models import FollowUser

    print("\n## A callback in the middle of a whole-school sync")
    setup.start_worker("worker-1")
    setup.start_worker("worker-2")
    setup.start_worker("callbacks-1", queue="callbacks")
    # The parent must be stored before its remark can change on its page.
    done = setup.manage("refresh_contacts", "woAAAA")
    if done.returncode != 0:
        raise SystemExit(f"refresh_contacts woAAAA failed:\n{done.stdout}{done.stderr}")
    job = start_sync_job()
    wait_until(lambda: job.items.filter(finished_at__isnull=False).count() >= 200, timeout=300, what="the job to run")
    remark = f"李主任-{int(time.time())}"
    sent_at = time.monotonic()
    answer = requests.post(
        f"{setup.sandbox_url}/contacts/woAAAA/follow_users/rocky", json={"remark": remark}, timeout=10
    )
    answer.raise_for_status()
    shown = FollowUser.objects.filter(contact__external_userid="woAAAA", userid="rocky", remark=remark)
    wait_until(shown.exists, timeout=600, what="the new remark to arrive", every=0.05)
    delay = time.monotonic() - sent_at
    job.refresh_from_db()
    print(f"- 李部长's remark edited in WeCom: on the parent page {delay:.1f} s later")
    print(f"- the job meanwhile: {job_counts(job)}")
    wait_until(lambda: not job_active(job), timeout=900, what="the job to end")
    for name in ("worker-1", "worker-2", "callbacks-1"):
        setup.stop(name)


def ensure_parents_stored(setup: Deployment) -> None:
    """A scenario run on its own first syncs the school, as the others leave it synced."""
    from contacts.models import ExternalContact

    if ExternalContact.objects.count() >= setup.parents // 2:
        return
    setup.start_worker("sync-1")
    job = start_sync_job()
    wait_until(lambda: not job_active(job), timeout=900, what="the school to be synced")
    setup.stop("sync-1")


def scenario_export(setup: Deployment) -> None:
    from django.contrib.auth import get_user_model

    from contacts.models import Export, ExportStatus, ExternalContact
    from contacts.services.exports import start_parent_export

    print("\n## A worker killed while it writes an export to Excel")
    ensure_parents_stored(setup)
    setup.start_worker("worker-1")
    export = start_parent_export(
        user=get_user_model().objects.get(username=ADMIN_USER),
        contacts=ExternalContact.objects.order_by("name"),
        description="faults.py",
        reveal_phones=False,
    )
    writing = Export.objects.filter(pk=export.pk, status=ExportStatus.RUNNING)
    wait_until(writing.exists, timeout=120, what="worker-1 to write the export", every=0.01)
    killed_at = time.monotonic()
    setup.stop("worker-1", signal.SIGKILL)
    print(f"- killed worker-1 (SIGKILL) while it wrote an export of {export.row_count} parents; worker-2 started")
    setup.start_worker("worker-2")
    ended = Export.objects.filter(pk=export.pk, status__in=[ExportStatus.FINISHED, ExportStatus.FAILED])
    wait_until(ended.exists, timeout=600, what="the export to end", every=0.5)
    export.refresh_from_db()
    print(
        f"- the export ended {time.monotonic() - killed_at:.0f} s after the kill: {export.status}, "
        f"{export.row_count} rows, written by try {export.attempts}"
        + (f"; {export.error}" if export.error else "")
    )
    setup.stop("worker-2")


def scenario_event(setup: Deployment) -> None:
    from contacts.models import CallbackEvent, CallbackStatus, FollowUser

    print("\n## A callbacks worker killed while it applies a WeCom event")
    ensure_parents_stored(setup)
    done = setup.manage("refresh_contacts", "woAAAA")
    if done.returncode != 0:
        raise SystemExit(f"refresh_contacts woAAAA failed:\n{done.stdout}{done.stderr}")
    setup.start_worker("callbacks-1", queue="callbacks")
    setup.set_faults(woAAAA="slow")  # the worker waits for WeCom's answer on this parent
    remark = f"王老师-{int(time.time())}"
    requests.post(
        f"{setup.sandbox_url}/contacts/woAAAA/follow_users/rocky", json={"remark": remark}, timeout=10
    ).raise_for_status()
    held = CallbackEvent.objects.filter(
        external_userid="woAAAA", status=CallbackStatus.RECEIVED, claimed_at__isnull=False
    )
    wait_until(held.exists, timeout=60, what="callbacks-1 to take the event", every=0.01)
    event = held.get()
    time.sleep(0.5)  # it is waiting for WeCom now
    killed_at = time.monotonic()
    setup.stop("callbacks-1", signal.SIGKILL)
    setup.clear_faults()
    setup.start_worker("callbacks-2", queue="callbacks")
    print("- killed callbacks-1 (SIGKILL) while it applied an event; callbacks-2 started")
    event.refresh_from_db()
    print(f"- the event stays {event.status} with the dead worker's claim until that runs out")
    # WeCom goes on sending events; the first one applied after the claim ran out takes the dead one up.
    lease = int(setup.env.get("JOB_LEASE_SECONDS", "60"))
    wait_until(lambda: time.monotonic() - killed_at > lease + 1, timeout=lease + 5, what="the claim to run out")
    other, teacher = (
        FollowUser.objects.exclude(contact__external_userid="woAAAA")
        .values_list("contact__external_userid", "userid")
        .first()
    )
    requests.post(
        f"{setup.sandbox_url}/contacts/{other}/follow_users/{teacher}", json={"remark": "赵老师"}, timeout=10
    ).raise_for_status()
    applied = CallbackEvent.objects.filter(pk=event.pk).exclude(status=CallbackStatus.RECEIVED)
    wait_until(applied.exists, timeout=120, what="the dead worker's event to be applied", every=0.1)
    event.refresh_from_db()
    shown = FollowUser.objects.filter(contact__external_userid="woAAAA", userid="rocky", remark=remark).exists()
    print(
        f"- the next event, sent {lease + 1} s after the kill, took it up: applied "
        f"{time.monotonic() - killed_at:.0f} s after the kill ({event.status}, claim {event.attempts}); "
        f"the new remark is {'on the parent page' if shown else 'NOT on the parent page'}"
    )
    setup.stop("callbacks-2")


def scenario_ratelimit(setup: Deployment) -> None:

    print("\n## WeCom answers 45009 to every call")
    setup.set_faults(rate=1, kinds=[45009])
    try:
        started = time.monotonic()
        done = setup.manage("refresh_contacts", "woAAAA", timeout=900)
        took = time.monotonic() - started
        print(f"- refresh_contacts woAAAA gave up after {took:.0f} s, exit status {done.returncode}:")
        for line in (done.stdout + done.stderr).strip().splitlines()[-3:]:
            print(f"    {line}")
        setup.start_worker("worker-1")
        job = start_sync_job()
        started = time.monotonic()
        paused_seen = ""
        while job_active(job):
            if time.monotonic() - started > 1800:
                raise SystemExit("The rate-limited job did not end within 30 minutes.")
            job.refresh_from_db()
            paused_seen = paused_seen or job_status_line(job)
            time.sleep(1)
        print(f"- the whole-school job, while limited: {paused_seen or 'never said it was paused'}")
        print(f"- it stopped after {time.monotonic() - started:.0f} s: {job_counts(job)}")
        print(f"    reason: {stored_job_failure(job)}")
        setup.stop("worker-1")
    finally:
        setup.clear_faults()


def stored_job_failure(job) -> str:
    """Why the job failed, in both languages, as an operator reads it."""
    from django.utils import translation

    from contacts.services.job_errors import job_error_text

    texts = []
    for language in ("zh-hans", "en"):
        with translation.override(language):
            texts.append(job_error_text(job))
    return " / ".join(dict.fromkeys(texts))


def job_status_line(job) -> str:
    from django.utils import timezone

    if job.paused_until is None:
        return ""
    return f"paused until {timezone.localtime(job.paused_until):%H:%M:%S} (Beijing time)"


def scenario_cache(setup: Deployment) -> None:
    from contacts.models import ExternalContact

    print("\n## The shared cache (Redis) unreachable")
    done = setup.manage("refresh_contacts", "woAAAA")
    if done.returncode != 0:
        raise SystemExit(f"refresh_contacts woAAAA failed:\n{done.stdout}{done.stderr}")
    before = ExternalContact.objects.filter(external_userid="woAAAA").values().get()
    broken = {**setup.env, "CACHE_URL": UNREACHABLE_REDIS}
    started = time.monotonic()
    done = setup.manage("refresh_contacts", "--all", env=broken, timeout=600)
    output = (done.stdout + done.stderr).strip().splitlines()
    print(
        f"- refresh_contacts --all: exit status {done.returncode} after {time.monotonic() - started:.1f} s, "
        f"{len(output)} lines of output; its last line:"
    )
    print(f"    {output[-1] if output else '(nothing)'}")
    setup.stop("gunicorn")
    setup.env = broken
    setup.start_app()
    print(f"- the refresh button: {press_refresh_button(setup)}")
    after = ExternalContact.objects.filter(external_userid="woAAAA").values().get()
    print(f"- the stored parent woAAAA is {'untouched' if after == before else 'CHANGED'}")


def press_refresh_button(setup: Deployment) -> str:
    from contacts.models import ExternalContact

    browser = requests.Session()
    login = f"{setup.app_url}/admin/login/"
    page = browser.get(login, timeout=10)
    browser.post(
        login,
        data={
            "username": ADMIN_USER,
            "password": ADMIN_PASSWORD,
            "csrfmiddlewaretoken": csrf_token(page.text),
            "next": "/admin/",
        },
        headers={"Referer": login},
        timeout=10,
    )
    contact = ExternalContact.objects.get(external_userid="woAAAA")
    change = f"{setup.app_url}/admin/contacts/externalcontact/{contact.pk}/change/"
    page = browser.get(change, timeout=10)
    answer = browser.post(
        f"{setup.app_url}/admin/contacts/externalcontact/{contact.pk}/refresh/",
        data={"csrfmiddlewaretoken": csrf_token(page.text)},
        headers={"Referer": change},
        timeout=30,
    )
    messages = re.findall(r'<li class="(?:error|warning|success|info)">(.*?)</li>', answer.text, re.S)
    text = " ".join(re.sub(r"<[^>]+>", "", message).strip() for message in messages) or "(no message)"
    return f"HTTP {answer.status_code}, {text}"


def csrf_token(html: str) -> str:
    found = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', html)
    if not found:
        raise SystemExit("No CSRF token on the page; is the app up?")
    return found.group(1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--only", choices=SCENARIOS, action="append", help="run only this scenario (repeatable)")
    parser.add_argument("--parents", type=int, default=2000)
    parser.add_argument("--latency-ms", type=int, default=50)
    parser.add_argument(
        "--database-url",
        default=os.environ.get("FAULTS_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/schoolcontacts_faults"),
        help="a PostgreSQL database of its own, dropped and made anew",
    )
    parser.add_argument("--cache-url", default=os.environ.get("FAULTS_CACHE_URL", "redis://127.0.0.1:6379/9"))
    parser.add_argument("--keep-logs", action="store_true", help="print the end of every process's log")
    options = parser.parse_args()
    create_database(options.database_url)
    scenarios = {
        "worker": scenario_worker,
        "callback": scenario_callback,
        "export": scenario_export,
        "event": scenario_event,
        "ratelimit": scenario_ratelimit,
        "cache": scenario_cache,
    }
    with deployment(options) as setup:
        print(f"{options.parents} parents, WeCom simulator at {options.latency_ms} ms, PostgreSQL, Redis, gunicorn")
        for name in options.only or SCENARIOS:
            scenarios[name](setup)


def create_database(database_url: str) -> None:
    """The run's database, made anew: nothing of an earlier run (its data, its migrations) is left."""
    import psycopg
    from psycopg import sql

    name = database_url.rsplit("/", 1)[-1]
    server = database_url.rsplit("/", 1)[0] + "/postgres"
    with psycopg.connect(server, autocommit=True) as connection:
        connection.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
        connection.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))


if __name__ == "__main__":
    main()
