"""A whole-school job meets WeCom's limits while it reads the roster: it pauses, as the refreshes do.

Against the simulator, which answers 45009 to every call but gettoken while told to.
"""

import threading

import pytest
from django.utils import timezone, translation

from contacts.models import JobKind, JobStatus, PauseReason, SyncJob
from contacts.services.job_errors import job_error_text
from contacts.services.jobs import start_job

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def short_patience(settings):
    settings.WECOM_RATE_LIMIT_PAUSE = 0.1
    settings.WECOM_JOB_PATIENCE = 0.35


def test_it_stops_as_failed_with_the_reason_when_the_limits_outlast_its_patience(sandbox, short_patience):
    sandbox.set_fault_rate(1.0, [45009])

    job = start_job(kind=JobKind.SYNC_SCHOOL)

    job.refresh_from_db()
    assert job.status == JobStatus.FAILED
    assert job.pause_reason == PauseReason.WECOM_LIMIT
    assert job.started_at < job.paused_until <= timezone.now() + timezone.timedelta(seconds=1)
    with translation.override("zh-hans"):
        assert "企业微信持续限制调用频率" in job_error_text(job)
    with translation.override("en"):
        assert "WeCom kept limiting calls" in job_error_text(job)
    assert not job.items.exists()


def test_it_goes_on_when_the_limits_end_within_its_patience(sandbox, settings):
    settings.WECOM_RATE_LIMIT_PAUSE = 0.2
    settings.WECOM_JOB_PATIENCE = 30
    sandbox.set_fault_rate(1.0, [45009])
    threading.Timer(0.5, sandbox.clear_faults).start()

    job = start_job(kind=JobKind.SYNC_SCHOOL)

    job.refresh_from_db()
    assert job.status == JobStatus.FINISHED, job_error_text(job)
    assert job.paused_until is not None  # it said it waited
    assert job.items.count() == len(sandbox.school.external_userids())
    assert SyncJob.objects.filter(status=JobStatus.FAILED).count() == 0
