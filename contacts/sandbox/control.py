"""The simulator's control API under /sandbox/ (documented in server.py's docstring)."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote

from .faults import parse_fault, parse_kind
from .jssdk import KINDS
from .replies import Reply, json_reply, ok_reply
from .school import NotFound

if TYPE_CHECKING:
    from .server import SandboxServer

_SAMPLE_SIZE = 5


def _problem(status: int, message: str) -> Reply:
    return json_reply({"errcode": status, "errmsg": message}, status)


def _json_object(body: bytes) -> dict[str, Any]:
    data = json.loads(body.decode("utf-8")) if body.strip() else {}
    if not isinstance(data, dict):
        raise ValueError("expected a JSON object")
    return data


def answer(sandbox: SandboxServer, method: str, path: str, body: bytes) -> Reply:
    parts = [unquote(part) for part in path.strip("/").split("/")][1:]  # without "sandbox"
    try:
        if parts == ["info"] and method == "GET":
            return _info(sandbox)
        if parts == ["stats"] and method == "GET":
            return ok_reply(**sandbox.stats)
        if parts == ["stats"] and method == "DELETE":
            sandbox.reset_stats()
            return ok_reply(**sandbox.stats)
        if parts == ["faults"] and method == "GET":
            return ok_reply(**sandbox.faults)
        if parts == ["faults"] and method == "POST":
            return _set_faults(sandbox, _json_object(body))
        if parts == ["faults"] and method == "DELETE":
            sandbox.clear_faults()
            return ok_reply(**sandbox.faults)
        if parts == ["expire-tokens"] and method == "POST":
            return ok_reply(expired=sandbox.expire_tokens())
        if len(parts) == 4 and parts[0] == "contacts" and parts[2] == "follow_users" and method == "POST":
            return _edit_follow_user(sandbox, parts[1], parts[3], _json_object(body))
        if parts == ["callbacks", "send"] and method == "POST":
            return _send_callback(sandbox, _json_object(body))
        if parts == ["jssdk", "verify"] and method == "POST":
            return _verify_jssdk_signature(sandbox, _json_object(body))
    except (ValueError, UnicodeDecodeError) as error:  # json.JSONDecodeError is a ValueError
        return _problem(400, str(error))
    return _problem(404, f"no control endpoint {method} {path}")


def _info(sandbox: SandboxServer) -> Reply:
    school = sandbox.school
    return ok_reply(
        url=sandbox.url,
        corp_id=sandbox.corp_id,
        agent_id=sandbox.sign_in.agent_id,
        login_base=sandbox.base_url,
        school=school.name,
        parents=school.parent_count,
        composition=school.composition(),
        students=school.student_count,
        classes=len(school.class_ids()),
        staff=len(school.staff_userids()),
        sample_external_userids=school.external_userids()[:_SAMPLE_SIZE],
        lost_external_userids=school.lost_external_userids()[:_SAMPLE_SIZE],
        sample_staff_userids=school.staff_userids()[:_SAMPLE_SIZE],
        callback_url=sandbox.callback_url or None,
    )


def _set_faults(sandbox: SandboxServer, data: dict[str, Any]) -> Reply:
    rate = data.pop("rate", None)
    kinds = data.pop("kinds", None)
    # Check everything before changing anything, so a bad request changes nothing.
    faults = {str(external_userid): parse_fault(value) for external_userid, value in data.items()}
    if rate is not None and (isinstance(rate, bool) or not isinstance(rate, int | float) or not 0 <= rate <= 1):
        raise ValueError("rate must be a number between 0 and 1")
    if kinds is not None:
        if not isinstance(kinds, list) or not kinds:
            raise ValueError("kinds must be a non-empty list")
        kinds = [parse_kind(kind) for kind in kinds]
    for external_userid, fault in faults.items():
        sandbox.set_fault(external_userid, fault)
    if rate is not None or kinds is not None:
        sandbox.set_fault_rate(sandbox.faults["rate"] if rate is None else float(rate), kinds)
    return ok_reply(**sandbox.faults)


def _edit_follow_user(sandbox: SandboxServer, external_userid: str, userid: str, data: dict[str, Any]) -> Reply:
    remark, description = data.get("remark"), data.get("description")
    if not all(value is None or isinstance(value, str) for value in (remark, description)):
        raise ValueError("remark and description must be strings")
    try:
        follow_user = sandbox.school.edit_follow_user(external_userid, userid, remark=remark, description=description)
    except NotFound as error:
        return _problem(404, str(error))
    callback = None
    if sandbox.callback_url:
        # An edit in WeCom's own client makes WeCom tell the app (edits through the API do not).
        try:
            callback = sandbox.send_callback(
                "edit_external_contact", external_userid=external_userid, userid=userid
            ).as_json()
        except OSError as error:
            callback = {"status": None, "body": f"not delivered: {type(error).__name__}", "accepted": False}
    return ok_reply(follow_user=follow_user, callback=callback)


_CALLBACK_FIELDS = ("external_userid", "userid", "new_id", "state", "fail_reason")


def _send_callback(sandbox: SandboxServer, data: dict[str, Any]) -> Reply:
    change_type = data.get("change_type")
    if not isinstance(change_type, str) or not change_type:
        raise ValueError("change_type is required")
    fields = {name: data[name] for name in _CALLBACK_FIELDS if data.get(name) is not None}
    if not all(isinstance(value, str) for value in fields.values()):
        raise ValueError(f"{', '.join(_CALLBACK_FIELDS)} must be strings")
    try:
        delivery = sandbox.send_callback(change_type, **fields)
    except LookupError as error:
        return _problem(409, str(error))
    except OSError as error:
        return _problem(502, f"the app could not be reached: {type(error).__name__}")
    return ok_reply(**delivery.as_json())


_SIGNATURE_FIELDS = ("kind", "url", "noncestr", "timestamp", "signature")


def _verify_jssdk_signature(sandbox: SandboxServer, data: dict[str, Any]) -> Reply:
    # The timestamp may come as a number, as pages send it to the JS-SDK.
    if isinstance(data.get("timestamp"), int) and not isinstance(data.get("timestamp"), bool):
        data["timestamp"] = str(data["timestamp"])
    if not all(isinstance(data.get(name), str) for name in _SIGNATURE_FIELDS):
        raise ValueError(f"{', '.join(_SIGNATURE_FIELDS)} are required strings")
    if data["kind"] not in KINDS:
        raise ValueError(f"kind must be one of {', '.join(KINDS)}")
    fields = {name: data[name] for name in _SIGNATURE_FIELDS}
    return ok_reply(valid=sandbox.jssdk_signature_is_valid(**fields))
