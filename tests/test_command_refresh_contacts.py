import datetime as dt
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from contacts.models import ExternalContact

pytestmark = pytest.mark.django_db


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
    assert "已保留本地数据" in err
    assert "2 parent(s): 1 refreshed (1 new, 0 changed), 1 failed." in out


def test_it_stops_at_a_configuration_error_instead_of_trying_every_parent(wecom):
    wecom.fails("wmONE", 60020)

    out, err, status = run("wmONE", "wmTWO", "wmTHREE")

    assert status == 1
    assert "企业可信IP" in err
    assert "2 not tried" in out
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
