"""`manage.py sync_school`: read the roster, refresh every parent in this process, report and exit 1 on failures."""

from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from contacts.models import ExternalContact, JobItemStatus, JobKind, JobStatus, RefreshTrigger, SyncJob
from contacts.sandbox.school import build_school
from contacts.sandbox.server import SandboxServer

pytestmark = pytest.mark.django_db


class Terminal(StringIO):
    def isatty(self) -> bool:
        return True


def run(*args, stdout=None) -> tuple[str, str, int]:
    out, err = stdout or StringIO(), StringIO()
    try:
        call_command("sync_school", *args, stdout=out, stderr=err)
        status = 0
    except SystemExit as exit_:
        status = exit_.code
    return out.getvalue(), err.getvalue(), status


def roster_ids(server: SandboxServer) -> set[str]:
    """Every parent the simulated school's roster and teachers know of, the lost ones included."""
    return set(server.school.external_userids())


def test_it_refreshes_the_roster_and_the_stored_parents_and_exits_1_for_the_lost_ones(sandbox):
    ExternalContact.objects.create(external_userid="wmNOLONGERINWECOM")

    out, err, status = run("--concurrency", "1")

    roster = roster_ids(sandbox)
    lost = set(sandbox.school.lost_external_userids()) & roster
    total = len(roster) + 1
    assert status == 1
    assert f"refreshing {total} parent(s) from the roster and the stored ones." in out
    refreshed = total - len(lost) - 1
    assert f"{total} parent(s): {refreshed} refreshed ({refreshed} new, 0 changed), {len(lost) + 1} failed." in out
    for external_userid in lost:
        assert f"FAILED  {external_userid}: [84061]" in err
    assert "FAILED  wmNOLONGERINWECOM: [40096]" in err
    # Only failures get a line by default; a school has thousands of parents.
    assert "NEW " not in out
    assert ExternalContact.objects.filter(last_trigger=RefreshTrigger.COMMAND).count() == refreshed
    # A job like the admin's, run here: recorded for the job page and the health check.
    job = SyncJob.objects.get()
    assert (job.kind, job.status) == (JobKind.SYNC_SCHOOL, JobStatus.FINISHED)
    assert job.items.filter(status=JobItemStatus.FAILED).count() == len(lost) + 1
    assert set(job.items.values_list("claimed_by", flat=True)) == {job.items.first().claimed_by}


def test_it_refuses_to_run_beside_an_active_school_sync(sandbox):
    running = SyncJob.objects.create(kind=JobKind.SYNC_SCHOOL, status=JobStatus.RUNNING)

    with pytest.raises(CommandError, match=f"#{running.pk} is already running"):
        call_command("sync_school")

    assert SyncJob.objects.count() == 1


def test_the_health_check_reports_the_commands_sync(sandbox, client):
    run("--concurrency", "1")

    assert client.get("/healthz").json()["last_sync_finished_at"] is not None


def test_verbosity_2_prints_every_parent(sandbox):
    out, _, _ = run("--concurrency", "1", "-v", "2")

    assert out.count("NEW ") == len(roster_ids(sandbox) - set(sandbox.school.lost_external_userids()))


def test_a_terminal_gets_a_progress_bar(sandbox):
    out, _, _ = run("--concurrency", "1", stdout=Terminal())

    total = len(roster_ids(sandbox))
    lost = len(set(sandbox.school.lost_external_userids()) & roster_ids(sandbox))
    assert "\r[" in out
    assert f"[{'#' * 30}] {total}/{total} parents, {lost} failed\n" in out


def test_output_to_a_file_or_pipe_has_no_progress_bar(sandbox):
    out, _, _ = run("--concurrency", "1")

    assert "\r" not in out


def test_a_roster_that_cannot_be_read_is_an_error_with_the_hint(sandbox):
    sandbox.set_fault_rate(1.0, ["48002"])

    with pytest.raises(CommandError, match="家校沟通"):
        call_command("sync_school", stdout=StringIO(), stderr=StringIO())
    assert sandbox.stats["calls"].get("externalcontact/get", 0) == 0


def test_a_configuration_error_stops_it(sandbox):
    for external_userid in roster_ids(sandbox):
        sandbox.set_fault(external_userid, "60020")  # the roster reads, the refreshes fail

    out, err, status = run("--concurrency", "1")

    assert status == 1
    assert "Stopped:" in err
    assert "企业可信IP" in err
    assert f"1 failed, {len(roster_ids(sandbox)) - 1} left for a later run." in out
    assert sandbox.stats["calls"]["externalcontact/get"] == 1


@pytest.fixture
def slow_wecom(settings):
    server = SandboxServer(
        school=build_school(parents=30, seed=1),
        corp_id=settings.WECOM_CORP_ID,
        secret=settings.WECOM_SECRET,
        latency_ms=50,
    ).start()
    settings.WECOM_API_BASE = server.url
    yield server
    server.stop()


@pytest.mark.django_db(transaction=True)
def test_it_honours_WECOM_CONCURRENCY_and_shares_one_token(slow_wecom, settings):
    settings.WECOM_CONCURRENCY = 4

    _, _, status = run()

    assert status == 1  # the simulated school always has a lost parent
    stats = slow_wecom.stats
    assert 1 < stats["max_in_flight"] <= 4
    assert stats["gettoken"] == 1
    assert stats["calls"]["externalcontact/get"] == len(roster_ids(slow_wecom))
