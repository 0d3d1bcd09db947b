"""`make demo`'s setup: the login, the school synced through the simulated API, and what it says about the school."""

import io

import pytest
from django.core.management import CommandError, call_command

from contacts.models import ExternalContact, JobKind, JobStatus, Student, SyncJob

pytestmark = pytest.mark.django_db


@pytest.fixture
def demo(sandbox, settings):
    settings.DEBUG = True
    settings.WECOM_CONCURRENCY = 1
    return sandbox


def run_demo_setup() -> tuple[str, str]:
    out, err = io.StringIO(), io.StringIO()
    call_command("demo_setup", "--username", "demo", "--password", "demo-password-1", stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def test_it_refuses_to_set_a_known_password_outside_debug(django_user_model):
    with pytest.raises(CommandError, match="DEBUG"):
        call_command("demo_setup")

    assert not django_user_model.objects.exists()


def test_it_creates_the_login_and_syncs_the_school_through_the_api(demo, django_user_model):
    run_demo_setup()

    assert django_user_model.objects.get(username="demo").is_superuser
    stored = set(ExternalContact.objects.values_list("external_userid", flat=True))
    assert "woAAAA" in stored
    assert stored == set(demo.school.external_userids(include_lost=False))
    assert Student.objects.filter(name="李小明").exists()
    assert SyncJob.objects.get().kind == JobKind.SYNC_SCHOOL
    assert SyncJob.objects.get().status == JobStatus.FINISHED


def test_it_says_what_the_school_holds_and_that_the_failures_are_the_parents_who_left(demo):
    parts = demo.school.composition()  # 30 parents: 28 subscribed, 2 contact-only, 1 of them lost
    linked = parts["subscribed"] + parts["contact_only"]

    out, err = run_demo_setup()

    assert f"{demo.school.parent_count} parents on the roster" in out
    assert f"{linked} of them have a WeCom external_userid" in out
    assert f"{parts['roster_only']} are on the roster only" in out
    assert f"{parts['lost']} of the {linked} have left the school on purpose" in out
    assert f"stores {linked - parts['lost']} parents" in out
    assert f"{linked - parts['lost']} parents stored" in out
    assert f"The {parts['lost']} FAILED lines (84061) are the parents who left the school on purpose" in out
    failed_lines = [line.split(":")[0] for line in err.splitlines()]
    assert failed_lines == [f"FAILED  {external_userid}" for external_userid in demo.school.lost_external_userids()]


def test_it_fails_when_parents_other_than_those_who_left_fail(demo):
    reachable = demo.school.external_userids(include_lost=False)[5]
    demo.set_fault(reachable, "60011")  # this parent's teachers are outside the app's visible range

    with pytest.raises(CommandError, match="beyond the parents who left"):
        run_demo_setup()
