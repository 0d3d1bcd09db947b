import datetime as dt
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from contacts.models import ExternalContact
from contacts.sandbox.school import build_school
from contacts.sandbox.server import SandboxServer

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _one_at_a_time(settings):
    # Threads use connections of their own, which cannot see this test's transaction; the
    # tests of concurrency below are transactional and set their own concurrency.
    settings.WECOM_CONCURRENCY = 1


def run(*args) -> tuple[str, str, int]:
    out, err = StringIO(), StringIO()
    try:
        call_command("refresh_contacts", *args, stdout=out, stderr=err)
        status = 0
    except SystemExit as exit_:
        status = exit_.code
    return out.getvalue(), err.getvalue(), status


def test_it_prints_a_line_per_parent_and_a_summary(wecom, seed_answer):
    wecom.answers(seed_answer)

    out, err, status = run("woAAAA")

    assert status == 0
    assert "NEW     woAAAA 李四: 新家长，首次保存" in out
    assert "1 parent(s): 1 refreshed (1 new, 0 changed), 0 failed." in out
    assert err == ""


def test_it_says_no_change_and_what_changed(wecom, seed_answer):
    wecom.answers(seed_answer)
    run("woAAAA")
    out, _, _ = run("woAAAA")
    assert "OK      woAAAA 李四: 无变化" in out

    seed_answer["follow_user"][0]["remark"] = "李主任"
    wecom.answers(seed_answer)
    out, _, _ = run("woAAAA")
    assert "备注 (rocky)：李部长 → 李主任" in out
    assert "(0 new, 1 changed)" in out


def test_it_exits_1_and_prints_the_hint_when_a_parent_fails(wecom, seed_answer):
    wecom.answers(seed_answer)
    wecom.fails("wmGONE", 84061)

    out, err, status = run("woAAAA", "wmGONE")

    assert status == 1
    assert "FAILED  wmGONE: [84061] 不存在外部联系人的关系" in err
    assert "企业微信不再提供其信息" in err  # the hint
    assert "2 parent(s): 1 refreshed (1 new, 0 changed), 1 failed." in out


def test_it_stops_at_a_configuration_error_instead_of_trying_every_parent(wecom):
    wecom.fails("wmONE", 60020)

    out, err, status = run("wmONE", "wmTWO", "wmTHREE")

    assert status == 1
    assert "企业可信IP" in err
    assert "2 left for a later run" in out
    assert wecom.contact_calls() == 1


def test_all_refreshes_every_stored_parent(wecom, seed_answer):
    wecom.answers(seed_answer)
    run("woAAAA")

    out, _, status = run("--all")

    assert status == 0
    assert "1 parent(s): 1 refreshed" in out


def test_stale_hours_refreshes_only_parents_not_refreshed_since(wecom, seed_answer):
    wecom.answers(seed_answer)
    run("woAAAA")
    ExternalContact.objects.create(external_userid="wmOLD", last_refreshed_at=timezone.now() - dt.timedelta(days=3))
    wecom.fails("wmOLD", 84061)

    out, _, _ = run("--stale-hours", "24")

    assert "1 parent(s)" in out
    assert wecom.contact_calls() == 2  # woAAAA once before, wmOLD now


def test_it_explains_what_to_give_it():
    with pytest.raises(CommandError, match="EXTERNAL_USERID"):
        call_command("refresh_contacts")
    with pytest.raises(CommandError, match="not both"):
        call_command("refresh_contacts", "woAAAA", "--all")


def test_nothing_to_refresh_is_not_an_error():
    out, _, status = run("--all")

    assert status == 0
    assert "No parents to refresh." in out


# -- many parents at once, and the progress bar ------------------------------------------------------


class Terminal(StringIO):
    """Output that says it is a terminal, as a shell's stdout does."""

    def isatty(self) -> bool:
        return True


def run_on_terminal(*args) -> tuple[str, str, int]:
    out, err = Terminal(), StringIO()
    try:
        call_command("refresh_contacts", *args, stdout=out, stderr=err)
        status = 0
    except SystemExit as exit_:
        status = exit_.code
    return out.getvalue(), err.getvalue(), status


def test_a_terminal_gets_a_progress_bar_that_ends_complete(wecom, seed_answer):
    wecom.answers(seed_answer)
    wecom.fails("wmGONE", 84061)

    out, err, status = run_on_terminal("woAAAA", "wmGONE")

    assert status == 1
    assert "\r[" in out
    assert f"[{'#' * 30}] 2/2 parents, 1 failed\n" in out
    assert "NEW     woAAAA 李四" in out
    assert "FAILED  wmGONE" in err


def test_output_to_a_file_or_pipe_has_no_progress_bar(wecom, seed_answer):
    wecom.answers(seed_answer)

    out, _, _ = run("woAAAA")

    assert "\r" not in out
    assert "[#" not in out


def test_concurrency_must_be_a_positive_number():
    with pytest.raises(CommandError, match="concurrency"):
        call_command("refresh_contacts", "--all", "--concurrency", "0")


@pytest.fixture
def slow_wecom(settings):
    server = SandboxServer(
        school=build_school(parents=30, seed=1),
        corp_id=settings.WECOM_CORP_ID,
        secret=settings.WECOM_SECRET,
        latency_ms=50,
        slow_seconds=0.5,
    ).start()
    settings.WECOM_API_BASE = server.url
    yield server
    server.stop()


@pytest.mark.django_db(transaction=True)
def test_all_refreshes_WECOM_CONCURRENCY_parents_at_once(slow_wecom, settings):
    settings.WECOM_CONCURRENCY = 3
    parents = slow_wecom.school.external_userids(include_lost=False)[:12]
    ExternalContact.objects.bulk_create(ExternalContact(external_userid=e) for e in parents)

    out, err, status = run("--all")

    assert status == 0, err
    assert "12 parent(s): 12 refreshed (0 new, 12 changed), 0 failed." in out
    assert sorted(line.split()[1] for line in out.splitlines() if line.startswith("OK")) == sorted(parents)
    assert 1 < slow_wecom.stats["max_in_flight"] <= 3
    assert slow_wecom.stats["gettoken"] == 1


@pytest.mark.django_db(transaction=True)
def test_the_concurrency_option_overrides_the_setting(slow_wecom, settings):
    settings.WECOM_CONCURRENCY = 8
    parents = slow_wecom.school.external_userids(include_lost=False)[:10]
    ExternalContact.objects.bulk_create(ExternalContact(external_userid=e) for e in parents)

    _, _, status = run("--all", "--concurrency", "2")

    assert status == 0
    assert slow_wecom.stats["max_in_flight"] <= 2


@pytest.mark.django_db(transaction=True)
def test_named_parents_are_printed_in_the_order_given_though_refreshed_at_once(slow_wecom, settings):
    settings.WECOM_CONCURRENCY = 4
    lost = slow_wecom.school.lost_external_userids()[0]
    named = [*slow_wecom.school.external_userids(include_lost=False)[:5], lost]
    slow_wecom.set_fault(named[0], "slow:1")  # the first one answers last

    out, err, status = run(*named)

    assert status == 1
    printed = [line.split()[1].rstrip(":") for line in (out + err).splitlines() if line.startswith(("NEW", "FAILED"))]
    # stdout and stderr are apart here; each keeps the order given.
    assert [i for i in printed if i != lost] == named[:5]
    assert f"FAILED  {lost}: [84061]" in err
    assert slow_wecom.stats["max_in_flight"] > 1

