import datetime as dt

import pytest
from django.utils import timezone

from contacts.models import JobKind, JobStatus, SyncJob

pytestmark = pytest.mark.django_db


def test_it_answers_ok_when_the_database_and_cache_answer(client):
    response = client.get("/healthz")

    assert response.status_code == 200
    assert response.json() == {"status": "ok", "database": "ok", "cache": "ok", "last_sync_finished_at": None}
    assert "no-cache" in response["Cache-Control"]


def test_it_tells_when_the_last_school_sync_finished(client):
    finished = timezone.now() - dt.timedelta(hours=3)
    SyncJob.objects.create(kind=JobKind.SYNC_SCHOOL, status=JobStatus.FINISHED, finished_at=finished)

    assert client.get("/healthz").json()["last_sync_finished_at"] == finished.isoformat()


def test_it_answers_503_when_the_cache_is_down(client, settings):
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.dummy.DummyCache"}}

    response = client.get("/healthz")

    assert response.status_code == 503
    assert response.json()["cache"] == "unavailable"


def test_it_refuses_anything_but_get(client):
    assert client.post("/healthz").status_code == 405
