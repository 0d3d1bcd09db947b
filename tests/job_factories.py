"""Jobs made directly in the database, for the tests of what workers do with them."""

from django.utils import timezone

from contacts.models import JobItem, JobKind, JobStatus, SyncJob


def running_job(*external_userids: str, kind: JobKind = JobKind.REFRESH_ALL) -> SyncJob:
    """A job past its preparation: one pending item per parent, none claimed yet."""
    job = SyncJob.objects.create(kind=kind, status=JobStatus.RUNNING, started_at=timezone.now())
    JobItem.objects.bulk_create(JobItem(job=job, external_userid=e) for e in external_userids)
    return job
