"""A WeCom (企业微信) school edition simulator, for development, tests and demos.

The real service is out of reach here, so this package serves the APIs the project calls
(gettoken, externalcontact/get and /list, school/department/list, school/user/list_parent
and /get) from a deterministic simulated school, on loopback only, with latency and fault
injection, and sends the app WeCom's signed, encrypted callbacks (`callbacks.py`).
It needs no database. `python manage.py wecom_sandbox` runs it; tests start it in-process:

    from contacts.sandbox import SandboxServer, build_school

    with SandboxServer(school=build_school(parents=50, seed=1), corp_id="ww1", secret="s") as server:
        ...  # settings.WECOM_API_BASE = server.url
"""

from .faults import ALL_KINDS, ERRCODE_KINDS, SPECIAL_KINDS, Fault, parse_assignment, parse_fault
from .school import NotFound, School, build_school
from .server import SandboxServer, is_loopback_host

__all__ = [
    "ALL_KINDS",
    "ERRCODE_KINDS",
    "SPECIAL_KINDS",
    "Fault",
    "NotFound",
    "SandboxServer",
    "School",
    "build_school",
    "is_loopback_host",
    "parse_assignment",
    "parse_fault",
]
