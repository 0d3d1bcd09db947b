"""Sync the whole school in this process: read and store the roster from WeCom, then refresh every parent.

It is the admin's 「同步全校」 job run here instead of by a worker: the same lock (it
refuses to run beside an active one), the same per-parent records on the job page,
and its end is what /healthz reports, so a nightly timer needs no worker.
"""

import os
import socket
import sys

from django.core.management.base import BaseCommand, CommandError, CommandParser

from contacts.management.progress import (
    OutcomePrinter,
    add_concurrency_argument,
    report_summary,
    shared_cache_unavailable,
)
from contacts.models import JobKind, JobStatus, SyncJob
from contacts.services.job_errors import job_error_text
from contacts.services.jobs import JobAlreadyActive, run_job_here
from contacts.services.runner import RateLimitPolicy
from contacts.sharedcache import SharedCacheUnavailable


class Command(BaseCommand):
    help = (
        "Read the school roster from WeCom, then refresh every parent found there or stored here, "
        "WECOM_CONCURRENCY at a time within WECOM_RATE_PER_MINUTE and WECOM_RATE_PER_HOUR. "
        "Exits 1 when any parent failed or the job failed, 2 when the shared cache is down."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        add_concurrency_argument(parser)

    def handle(self, *args, **options) -> None:
        self.stdout.write("Reading the school roster from WeCom…")
        printer: list[OutcomePrinter] = []

        def prepared(job: SyncJob, total: int) -> None:
            if job.status == JobStatus.RUNNING:
                self.stdout.write(f"Job #{job.pk}: refreshing {total} parent(s) from the roster and the stored ones.")
                # Every parent's line only with -v 2: a school has thousands; failures always show.
                printer.append(OutcomePrinter(self, total=total, show_refreshed=options["verbosity"] >= 2))

        def outcome(result) -> None:
            printer[0](result)

        try:
            job, summary = run_job_here(
                kind=JobKind.SYNC_SCHOOL,
                worker_id=f"sync_school@{socket.gethostname()}:{os.getpid()}",
                concurrency=options["concurrency"],
                on_prepared=prepared,
                on_outcome=outcome,
                # A command gives up on WeCom's limits within 2 minutes; the job page shows the pauses.
                policy=RateLimitPolicy.for_command(),
            )
        except JobAlreadyActive as active:
            raise CommandError(
                f"{active.job} is already running (started {active.job.created_at:%Y-%m-%d %H:%M}); "
                "see it in the admin under 同步任务."
            ) from None
        except SharedCacheUnavailable as error:
            raise shared_cache_unavailable(error) from None
        finally:
            if printer:
                printer[0].close()
        if job.status == JobStatus.FAILED and summary is None:
            raise CommandError(f"Job #{job.pk} failed: {job_error_text(job)}")
        if summary is not None and report_summary(self, summary):
            sys.exit(1)
        if job.status == JobStatus.FAILED:
            self.stderr.write(self.style.ERROR(f"Job #{job.pk} failed: {job_error_text(job)}"))
            sys.exit(1)
        self.stdout.write(f"Job #{job.pk} {job.get_status_display()}.")
