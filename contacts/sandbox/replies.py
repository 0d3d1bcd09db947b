"""What the simulator sends back: JSON answers with WeCom's errcode/errmsg, and HTML pages."""

from __future__ import annotations

import json
import secrets
import time
from dataclasses import dataclass
from typing import Any

JSON_TYPE = "application/json; charset=utf-8"
HTML_TYPE = "text/html; charset=utf-8"

# WeCom's own errmsg texts (before the ", hint: ..." WeCom appends).
ERRMSGS: dict[int, str] = {
    -1: "system busy",
    6000: "data version conflict",
    40000: "unknown api",  # the simulator's answer to a path it does not serve
    40001: "invalid credential",
    40013: "invalid corpid",
    40014: "invalid access_token",
    40029: "invalid code",
    40058: "invalid parameter",
    40096: "invalid external userid",
    41001: "access_token missing",
    41002: "corpid missing",
    41004: "corpsecret missing",
    41009: "missing userid",
    42001: "access_token expired",
    45009: "api freq out of limit",
    45033: "api concurrent out of limit",
    48002: "api forbidden",
    60003: "department not found",
    60011: "no privilege to access/modify contact/party/agent",
    60020: "not allow to access from your ip",
    60111: "userid not found",
    84061: "not exist external contact",
    84074: "no external contact permission",
}


@dataclass(frozen=True)
class Reply:
    status: int
    body: bytes
    content_type: str = JSON_TYPE
    errcode: int | None = None  # for the statistics; None for HTML and cut answers
    location: str = ""  # where a redirect (3xx) sends the browser


def json_reply(payload: dict[str, Any], status: int = 200) -> Reply:
    body = json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    errcode = payload.get("errcode")
    return Reply(status, body, JSON_TYPE, errcode if isinstance(errcode, int) else None)


def ok_reply(**fields: Any) -> Reply:
    return json_reply({"errcode": 0, "errmsg": "ok", **fields})


def error_reply(errcode: int, status: int = 200) -> Reply:
    """An error the way WeCom words it: HTTP 200, errmsg with a hint and a link."""
    message = ERRMSGS.get(errcode, "error")
    hint = f"[{int(time.time())}_{secrets.token_hex(6)}]"
    errmsg = f"{message}, hint: {hint}, more info at https://open.work.weixin.qq.com/devtool/query?e={errcode}"
    return json_reply({"errcode": errcode, "errmsg": errmsg}, status)


HTML_502 = (
    b"<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n"
    b"<center><h1>502 Bad Gateway</h1></center>\r\n<hr><center>stgw</center>\r\n</body>\r\n</html>\r\n"
)
HTML_200 = (
    '<!DOCTYPE html>\n<html lang="zh-CN">\n<head><meta charset="utf-8"><title>网络认证</title></head>\n'
    "<body><h1>请先登录网络</h1><p>您访问的网络需要认证，请输入账号和密码。</p>"
    '<form method="post" action="/login"><input name="user"><input name="password" type="password">'
    "<button>登录</button></form></body>\n</html>\n"
).encode()
