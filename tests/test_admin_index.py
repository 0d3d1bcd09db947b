"""The admin's index and sidebar: the school's pages first, in the school's language; the
background task queue for superusers only."""

import pytest
from django.urls import reverse
from django.utils import translation

from tests.admin_factories import list_url, text_of

pytest_plugins = ["tests.admin_factories"]
pytestmark = pytest.mark.django_db

TASK_QUEUE_APP = "django_tasks_database"


@pytest.fixture(autouse=True)
def _restore_language():
    # A request activates its language for the whole thread; later tests expect the default.
    with translation.override(translation.get_language()):
        yield


def app_labels(response) -> list[str]:
    assert response.status_code == 200
    return [app["app_label"] for app in response.context["app_list"]]


def task_results_url() -> str:
    return reverse("admin:django_tasks_database_dbtaskresult_changelist")


@pytest.mark.parametrize("role", ["viewer_client", "manager_client"])
def test_school_staff_see_only_the_school_and_not_the_task_queue(role, request):
    client = request.getfixturevalue(role)

    index = client.get(reverse("admin:index"))
    parent_list = text_of(client.get(list_url()))  # the sidebar

    assert app_labels(index) == ["contacts"]
    for page in (text_of(index), parent_list):
        assert reverse("admin:app_list", args=[TASK_QUEUE_APP]) not in page
        assert "Task Results" not in page
        assert "TASKS DATABASE BACKEND" not in page.upper()
    assert client.get(task_results_url()).status_code == 403


def test_a_superuser_sees_the_school_first_and_the_task_queue_translated(superuser_client):
    response = superuser_client.get(reverse("admin:index"))
    page = text_of(response)

    labels = app_labels(response)
    assert labels[0] == "contacts"
    assert TASK_QUEUE_APP in labels
    assert "任务队列" in page
    assert "任务记录" in page
    assert "Tasks Database Backend" not in page
    assert "Task Results" not in page
    assert superuser_client.get(task_results_url()).status_code == 200


def test_the_sidebar_lists_the_school_first(superuser_client):
    response = superuser_client.get(list_url())

    assert response.context["available_apps"][0]["app_label"] == "contacts"


def test_the_task_queue_in_english(superuser_client):
    page = text_of(superuser_client.get(reverse("admin:index"), HTTP_ACCEPT_LANGUAGE="en"))

    assert "Task queue" in page
    assert "任务队列" not in page
    school = page.index(f'href="{reverse("admin:app_list", args=["contacts"])}"')
    assert school < page.index(f'href="{reverse("admin:app_list", args=[TASK_QUEUE_APP])}"')
