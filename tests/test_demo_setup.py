import pytest
from django.core.management import CommandError, call_command

pytestmark = pytest.mark.django_db


def test_it_refuses_to_set_a_known_password_outside_debug(django_user_model):
    with pytest.raises(CommandError, match="DEBUG"):
        call_command("demo_setup")

    assert not django_user_model.objects.exists()


def test_it_loads_the_school_through_the_api_and_creates_the_login(sandbox, settings, django_user_model):
    settings.DEBUG = True
    from contacts.models import ExternalContact

    call_command("demo_setup", "--username", "demo", "--password", "demo-password-1")

    assert django_user_model.objects.get(username="demo").is_superuser
    stored = set(ExternalContact.objects.values_list("external_userid", flat=True))
    assert "woAAAA" in stored
    assert stored <= set(sandbox.school.external_userids(include_lost=False))
    assert len(stored) > 20
