"""Plain views outside the admin: a health check for monitoring."""

from django.core.cache import cache
from django.db import DatabaseError, connection
from django.http import HttpRequest, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from contacts.selectors import last_finished_job


@never_cache
@require_GET
def health(request: HttpRequest) -> JsonResponse:
    """200 when the database and the shared cache answer, else 503; never shows data or secrets.

    It also says when the last whole-school sync finished, so monitoring can alert
    when nightly syncs stop happening.
    """
    checks = {"database": "ok", "cache": "ok"}
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
    except DatabaseError:
        checks["database"] = "unavailable"
    try:
        cache.set("health:probe", 1, timeout=10)
        if cache.get("health:probe") != 1:
            checks["cache"] = "unavailable"
    except Exception:  # any cache backend error means the same to monitoring
        checks["cache"] = "unavailable"
    healthy = all(value == "ok" for value in checks.values())
    if checks["database"] == "ok":
        job = last_finished_job()
        checks["last_sync_finished_at"] = job.finished_at.isoformat() if job else None
    return JsonResponse({"status": "ok" if healthy else "unavailable", **checks}, status=200 if healthy else 503)
