import pytest
from django.core.management import CommandError, call_command

from contacts.models import ExternalContact, JobKind, JobStatus, Student, SyncJob

pytestmark = pytest.mark.django_db


def test_it_refuses_to_set_a_known_password_outside_debug(django_user_model):
    with pytest.raises(CommandError, match="DEBUG"):
        call_command("demo_setup")

    assert not django_user_model.objects.exists()


def test_it_creates_the_login_and_syncs_the_school_through_the_api(sandbox, settings, django_user_model):
    settings.DEBUG = True
    settings.WECOM_CONCURRENCY = 1

    with pytest.raises(SystemExit):  # the simulated school has parents who left: those fail
        call_command("demo_setup", "--username", "demo", "--password", "demo-password-1")

    assert django_user_model.objects.get(username="demo").is_superuser
    stored = set(ExternalContact.objects.values_list("external_userid", flat=True))
    assert "woAAAA" in stored
    assert stored <= set(sandbox.school.external_userids())
    assert Student.objects.filter(name="李小明").exists()
    assert SyncJob.objects.get().kind == JobKind.SYNC_SCHOOL
    assert SyncJob.objects.get().status == JobStatus.FINISHED
