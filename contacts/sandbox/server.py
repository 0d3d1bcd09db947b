"""The WeCom simulator's HTTP server: the school edition APIs this project calls, on loopback.

WeCom APIs (all GET, under /cgi-bin/, answers `application/json; charset=utf-8`):

- `gettoken?corpid=&corpsecret=`: the access token; 40013 wrong corp id, 40001 wrong secret.
  Within its validity the same token comes back. Every other API needs `access_token`:
  41001 missing, 40014 unknown, 42001 expired.
- `externalcontact/get?external_userid=`: a parent's detail; 40096 unknown, 84061 lost.
- `externalcontact/list?userid=`: the parents one staff member follows; 84061 none, 60111 unknown.
- `school/department/list[?id=]`: the whole tree, or one department and all below; 60003 unknown.
- `school/user/list_parent?department_id=`: the parents of one department; 60003 unknown.
- `school/user/list?department_id=`: the students of one department with their class and parents; 60003 unknown.
- `school/user/get?userid=`: one student or parent of the roster; 41009 missing, 60111 unknown.
- `user/get?userid=`: a staff member's name and status; 41009 missing, 60111 unknown.
- `auth/getuserinfo?code=`: who a sign-in code belongs to: `userid` for a member, `openid` and
  `external_userid` for someone who is not; 40029 for an unknown, used or expired code.
- `get_jsapi_ticket`: the school's JS-SDK ticket (wx.config); `ticket/get?type=agent_config`: the
  app's (wx.agentConfig); each `{ticket, expires_in: 7200}`, the same ticket while it is valid;
  40058 for another `type`. Like every API they need a valid access token (41001, 40014, 42001).

Staff sign-in (see `signin.py`), HTML pages a browser is sent to:

- `GET /wwlogin/sso/login?login_type=CorpApp&appid=&agentid=&redirect_uri=&state=` (the web login)
  and `GET /connect/oauth2/authorize?appid=&redirect_uri=&response_type=code&scope=snsapi_base&state=&agentid=`
  (inside the WeCom app): a page listing the school's staff, and a visitor who is not a member;
  a wrong appid (not the corp id), agentid or redirect_uri gets an error page.
- `POST /wwlogin/sso/choose` (the page's form): redirects to `redirect_uri?code=CODE&state=STATE`.
  A code works once, within 5 minutes.

Each answer leaves `latency_ms` after its request arrived, the simulator's own work of
answering included, as WeCom's round trip would: the latency is the network's and WeCom's
together, not added on top of this process's. Faults (see `faults.py`) are injected after
the token check: a fault bound to an external_userid on externalcontact/get, else one
drawn at `fault_rate` on every API but gettoken (a `slow` one answers `slow_seconds` late).

Control API for tests and demos (under /sandbox/, loopback clients only; JSON in and
out; errors are HTTP 4xx with `{"errcode": <HTTP status>, "errmsg": ...}`):

- `GET /sandbox/info`: corp id, API base URL, school size, the parents by link with WeCom
  (`composition`: subscribed, contact_only, roster_only, and lost among the first two), sample
  ids (never the secret).
- `GET /sandbox/stats`: `{"gettoken": n, "calls": {api: n}, "total": n, "errcodes": {code: n},
  "faults": {kind: n}, "in_flight": n, "max_in_flight": n, "connections": n}` (connections: TCP
  connections accepted, to see keep-alive at work); `DELETE /sandbox/stats` resets it.
- `GET /sandbox/faults`: the faults in force.
- `POST /sandbox/faults` with `{"EXTERNAL_USERID": KIND or "KIND:N", ..., "rate": r, "kinds": [KIND, ...]}`:
  adds per-id faults and/or sets the random rate (and which kinds it draws).
- `DELETE /sandbox/faults`: no faults at all.
- `POST /sandbox/expire-tokens`: every issued token answers 42001 from now on.
- `POST /sandbox/jssdk/verify` with `{"kind": "jsapi" or "agent_config", "url", "noncestr", "timestamp",
  "signature"}`: `{"valid": bool}`, whether the signature a page gave ww.register is right for a valid
  ticket of that kind (what WeCom's client checks before a JS-SDK call).
- `POST /sandbox/contacts/<external_userid>/follow_users/<userid>` with
  `{"remark": ..., "description": ...}`: a teacher edits a parent's remark "in WeCom";
  answers `{"follow_user": {...}, "callback": ...}`; with a callback URL configured, the app also
  gets the edit_external_contact event WeCom would send, and `callback` is its answer (else null).
- `POST /sandbox/callbacks/send` with `{"change_type": ..., "external_userid": ..., "userid": ...,
  "new_id": ..., "fail_reason": ...}`: sends one event to the app's callback URL, signed and
  encrypted with its token and EncodingAESKey; `{"change_type": "verify"}` checks the URL as
  WeCom does. Answers `{"status": HTTP status, "body": ..., "accepted": bool}`; 409 without a callback URL.

Callbacks (see `callbacks.py`) go to `callback_url` with `callback_token` and `callback_aes_key`,
the app's WECOM_CALLBACK_TOKEN and WECOM_CALLBACK_AES_KEY.

Python use: `with SandboxServer(school=build_school(), corp_id=..., secret=...) as s:` starts
it in a background thread; point the client at `s.url` (http://127.0.0.1:PORT/cgi-bin).
"""

from __future__ import annotations

import contextlib
import hmac
import ipaddress
import socket
import socketserver
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from . import control
from .callbacks import CallbackSender, Delivery, event_xml
from .faults import DEFAULT_RATE_KINDS, Fault, FaultKind, FaultPlan
from .jssdk import AGENT_CONFIG, JSAPI, Tickets
from .replies import HTML_200, HTML_502, HTML_TYPE, Reply, error_reply, json_reply, ok_reply
from .school import School
from .signin import CHOOSE_PATH, CODE_TTL, LOGIN_PATH, OAUTH_PATH, CodeStore, SignInPages, getuserinfo
from .tokens import OK, TokenStore


def is_loopback_host(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class Stats:
    """Call counters, for tests and benchmarks (how many gettoken calls, how much concurrency)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.reset()

    def reset(self) -> None:
        with self._lock:
            self._calls: Counter[str] = Counter()
            self._errcodes: Counter[str] = Counter()
            self._faults: Counter[str] = Counter()
            self._in_flight = 0
            self._max_in_flight = 0
            self._connections = 0
            # Start times of API calls (gettoken aside), to see how many came in a minute.
            self._call_times: list[float] = []

    def connected(self) -> None:
        with self._lock:
            self._connections += 1

    def started(self, api: str) -> None:
        with self._lock:
            self._calls[api] += 1
            if api != "gettoken":
                self._call_times.append(time.time())
            self._in_flight += 1
            self._max_in_flight = max(self._max_in_flight, self._in_flight)

    def finished(self, reply: Reply) -> None:
        with self._lock:
            self._in_flight = max(0, self._in_flight - 1)
            if reply.errcode is not None:
                self._errcodes[str(reply.errcode)] += 1

    def fault(self, kind: FaultKind) -> None:
        with self._lock:
            self._faults[str(kind)] += 1

    def snapshot(self) -> dict[str, Any]:
        with self._lock:
            return {
                "gettoken": self._calls["gettoken"],
                "calls": dict(self._calls),
                "total": sum(self._calls.values()),
                "errcodes": dict(self._errcodes),
                "faults": dict(self._faults),
                "in_flight": self._in_flight,
                "max_in_flight": self._max_in_flight,
                "connections": self._connections,
                "busiest_clock_minute": _busiest_clock_minute(self._call_times),
                "busiest_60_seconds": _busiest_span(self._call_times, seconds=60.0),
            }


def _busiest_clock_minute(times: list[float]) -> int:
    """The most calls that started within one minute of the clock (hh:mm:00 to hh:mm:59)."""
    return max(Counter(int(t // 60) for t in times).values(), default=0)


def _busiest_span(times: list[float], *, seconds: float) -> int:
    """The most calls that started within any `seconds`-long span."""
    ordered = sorted(times)
    most, first = 0, 0
    for last, moment in enumerate(ordered):
        while moment - ordered[first] >= seconds:
            first += 1
        most = max(most, last - first + 1)
    return most


class _HTTPServer(ThreadingHTTPServer):
    daemon_threads = True  # a thread per connection; none may keep the process alive
    request_queue_size = 128  # benchmarks open many connections at once

    def __init__(self, address: tuple[str, int], sandbox: SandboxServer) -> None:
        self.sandbox = sandbox
        if ":" in address[0]:
            self.address_family = socket.AF_INET6
        super().__init__(address, _Handler)

    def server_bind(self) -> None:
        # HTTPServer.server_bind resolves the host name (getfqdn), which can stall; not needed.
        socketserver.TCPServer.server_bind(self)
        self.server_name, self.server_port = self.server_address[:2]


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive; every answer carries Content-Length
    server_version = "WeComSandbox/1.0"
    timeout = 120  # an idle keep-alive connection is closed after this many seconds
    # Headers and body go out in two writes; with Nagle's algorithm the second waits for the
    # client's delayed ACK, adding about 40 ms to every answer.
    disable_nagle_algorithm = True
    server: _HTTPServer

    arrived = 0.0  # time.monotonic() when the request line was read

    def parse_request(self) -> bool:
        # Called as soon as the request line is in: the latency runs from here.
        self.arrived = time.monotonic()
        return super().parse_request()

    def setup(self) -> None:
        super().setup()
        self.server.sandbox._track(self.connection, add=True)
        self.server.sandbox._stats.connected()

    def finish(self) -> None:
        try:
            super().finish()
        finally:
            self.server.sandbox._track(self.connection, add=False)

    def do_GET(self) -> None:
        self._handle("GET")

    def do_POST(self) -> None:
        self._handle("POST")

    def do_DELETE(self) -> None:
        self._handle("DELETE")

    def _handle(self, method: str) -> None:
        sandbox = self.server.sandbox
        url = urlsplit(self.path)
        length_header = self.headers.get("Content-Length") or "0"
        if not length_header.isdigit():
            self.close_connection = True  # the rest of the stream cannot be trusted
            self._send(json_reply({"errcode": 400, "errmsg": "bad Content-Length"}, 400))
            return
        length = int(length_header)
        body = self.rfile.read(length) if length > 0 else b""  # read it all: the connection is reused
        client = self.client_address[0]
        if url.path in (LOGIN_PATH, OAUTH_PATH) and method == "GET":
            reply = sandbox.sign_in.login_page(url.path, dict(parse_qsl(url.query, keep_blank_values=True)))
        elif url.path == CHOOSE_PATH and method == "POST":
            form = dict(parse_qsl(body.decode("utf-8", errors="replace"), keep_blank_values=True))
            reply = sandbox.sign_in.choose(form)
        elif url.path.startswith("/cgi-bin/"):
            if method == "GET":
                params = dict(parse_qsl(url.query, keep_blank_values=True))
                reply = sandbox.answer(url.path.removeprefix("/cgi-bin/"), params, arrived=self.arrived)
            else:
                reply = json_reply({"errcode": 405, "errmsg": "method not allowed"}, 405)
        elif url.path.startswith("/sandbox/"):
            if is_loopback_host(client):
                reply = control.answer(sandbox, method, url.path, body)
            else:
                reply = json_reply({"errcode": 403, "errmsg": "the control API is for loopback clients"}, 403)
        else:
            reply = error_reply(40000, 404)
        self._send(reply)

    def _send(self, reply: Reply) -> None:
        try:
            self.send_response(reply.status)
            self.send_header("Content-Type", reply.content_type)
            self.send_header("Content-Length", str(len(reply.body)))
            if reply.location:
                self.send_header("Location", reply.location)
            self.send_header("Connection", "close" if self.close_connection else "keep-alive")
            self.end_headers()
            self.wfile.write(reply.body)
        except OSError:
            # The client gave up (a timeout on a `slow` fault) or the server is stopping.
            self.close_connection = True

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        # The request line holds the access token (gettoken the secret, getuserinfo a code): log the path only.
        self.log_message("%s %s %s", self.command, urlsplit(self.path).path, code)

    def log_message(self, format: str, *args: Any) -> None:
        if self.server.sandbox.log_requests:
            sys.stderr.write(f"[{time.strftime('%H:%M:%S')}] {format % args}\n")


class SandboxServer:
    """The simulator; `start()` serves in a background thread, `serve_forever()` in this one."""

    def __init__(
        self,
        *,
        school: School,
        corp_id: str,
        secret: str,
        host: str = "127.0.0.1",
        port: int = 0,
        latency_ms: float = 0,
        token_ttl: float = 7200,
        fault_rate: float = 0.0,
        faults: dict[str, Fault | int | str] | None = None,
        slow_seconds: float = 30.0,
        fault_kinds: tuple[FaultKind, ...] = DEFAULT_RATE_KINDS,
        log_requests: bool = False,
        callback_url: str = "",
        callback_token: str = "",
        callback_aes_key: str = "",
        agent_id: str = "1000002",
        code_ttl: float = CODE_TTL,
    ) -> None:
        if not is_loopback_host(host):
            raise ValueError(f"the simulator only listens on loopback, not {host!r}")
        if latency_ms < 0 or slow_seconds < 0:
            raise ValueError("latency_ms and slow_seconds cannot be negative")
        if not corp_id or not secret:
            raise ValueError("the simulator needs a corp id and a secret")
        self.school = school
        self.corp_id = corp_id
        self._secret = secret
        self.latency_ms = latency_ms
        self.slow_seconds = slow_seconds
        self.log_requests = log_requests
        self._tokens = TokenStore(token_ttl)
        self._tickets = Tickets()
        self._faults = FaultPlan(
            seed=school.seed,
            rate=fault_rate,
            rate_kinds=fault_kinds,
            faults=faults,
        )
        self._stats = Stats()
        self._codes = CodeStore(code_ttl)
        self.sign_in = SignInPages(school=school, corp_id=corp_id, agent_id=agent_id, codes=self._codes)
        self._callbacks = (
            CallbackSender(url=callback_url, token=callback_token, encoding_aes_key=callback_aes_key, corp_id=corp_id)
            if callback_url
            else None
        )
        self._stopping = threading.Event()  # wakes latency and `slow` sleeps when stopping
        self._connections: set[socket.socket] = set()
        self._connections_lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._closed = False
        self._apis: dict[str, Callable[[dict[str, str]], Reply]] = {
            "gettoken": self._gettoken,
            "externalcontact/get": self._contact_get,
            "externalcontact/list": self._contact_list,
            "school/department/list": self._department_list,
            "school/user/list_parent": self._list_parent,
            "school/user/list": self._list_students,
            "school/user/get": self._school_user_get,
            "user/get": self._user_get,
            "auth/getuserinfo": self._getuserinfo,
            "get_jsapi_ticket": self._jsapi_ticket,
            "ticket/get": self._ticket_get,
        }
        self._httpd = _HTTPServer((host, port), self)  # bound now, so .port is known before start()

    # ----- life cycle ---------------------------------------------------------------

    @property
    def host(self) -> str:
        return str(self._httpd.server_address[0])

    @property
    def port(self) -> int:
        return int(self._httpd.server_address[1])

    @property
    def base_url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    @property
    def url(self) -> str:
        """The API base, what WECOM_API_BASE is set to: http://127.0.0.1:PORT/cgi-bin"""
        return f"{self.base_url}/cgi-bin"

    def start(self) -> SandboxServer:
        if self._thread is None:
            # A short poll interval: stop() waits for it, and tests start and stop many servers.
            self._thread = threading.Thread(
                target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05}, name="wecom-sandbox", daemon=True
            )
            self._thread.start()
        return self

    def serve_forever(self) -> None:
        """Serve in the calling thread until interrupted (Ctrl-C raises KeyboardInterrupt)."""
        self._httpd.serve_forever()

    def stop(self) -> None:
        if self._closed:
            return
        self._closed = True
        self._stopping.set()
        if self._thread is not None:
            self._httpd.shutdown()
            self._thread.join()
        # Keep-alive connections would otherwise hold their threads until the idle timeout.
        with self._connections_lock:
            connections = list(self._connections)
        for connection in connections:
            with contextlib.suppress(OSError):
                connection.shutdown(socket.SHUT_RDWR)
        self._httpd.server_close()

    def __enter__(self) -> SandboxServer:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def _track(self, connection: socket.socket, *, add: bool) -> None:
        with self._connections_lock:
            if add:
                self._connections.add(connection)
            else:
                self._connections.discard(connection)

    # ----- controls -----------------------------------------------------------------

    @property
    def stats(self) -> dict[str, Any]:
        """A snapshot; see the module docstring for its keys."""
        return self._stats.snapshot()

    def reset_stats(self) -> None:
        self._stats.reset()

    @property
    def faults(self) -> dict[str, Any]:
        return self._faults.snapshot()

    def set_fault(self, external_userid: str, kind: Fault | int | str) -> None:
        """Make externalcontact/get for this id fail: an errcode, a special kind, or "KIND:N"."""
        self._faults.set(external_userid, kind)

    def set_fault_rate(self, rate: float, kinds: tuple[FaultKind, ...] | list[FaultKind] | None = None) -> None:
        self._faults.set_rate(rate, kinds)

    def clear_faults(self) -> None:
        self._faults.clear()

    @property
    def callback_url(self) -> str:
        return self._callbacks.url if self._callbacks is not None else ""

    def send_callback(self, change_type: str, **fields: str) -> Delivery:
        """Send one event to the app (or, for "verify", check its URL); LookupError without a callback URL."""
        if self._callbacks is None:
            raise LookupError("no callback URL configured (callback_url, or --callback-url)")
        if change_type == "verify":
            return self._callbacks.verify_url()
        return self._callbacks.send_event(event_xml(corp_id=self.corp_id, change_type=change_type, **fields))

    def expire_tokens(self) -> int:
        """Every issued token answers 42001 from now on; returns how many were still valid."""
        return self._tokens.expire_all()

    def jssdk_signature_is_valid(self, *, kind: str, url: str, noncestr: str, timestamp: str, signature: str) -> bool:
        """Whether a page's signature (kind "jsapi" for wx.config, "agent_config" for wx.agentConfig) is right
        for a valid ticket of that kind, as WeCom's client checks it."""
        return self._tickets.signature_is_valid(
            kind, url=url, noncestr=noncestr, timestamp=timestamp, signature=signature
        )

    # ----- the WeCom APIs -----------------------------------------------------------

    def answer(self, api: str, params: dict[str, str], *, arrived: float | None = None) -> Reply:
        """The reply to GET /cgi-bin/<api>?<params>, faults and latency included; `arrived`
        (time.monotonic()) is when the request came in, now if not given."""
        handler = self._apis.get(api)
        if handler is None:
            return error_reply(40000, 404)
        due = (arrived or time.monotonic()) + self.latency_ms / 1000
        self._stats.started(api)
        reply = error_reply(-1)
        try:
            reply = self._answer(api, handler, params)
            if self.latency_ms:
                self._stopping.wait(max(due - time.monotonic(), 0.0))
        finally:
            self._stats.finished(reply)
        return reply

    def _answer(self, api: str, handler: Callable[[dict[str, str]], Reply], params: dict[str, str]) -> Reply:
        if api == "gettoken":
            return handler(params)
        token = params.get("access_token", "")
        if not token:
            return error_reply(41001)
        token_state = self._tokens.check(token)
        if token_state != OK:
            return error_reply(token_state)
        fault = None
        if api == "externalcontact/get":
            fault = self._faults.take_for(params.get("external_userid", ""))
        if fault is None:
            fault = self._faults.take_random()
        if fault is None:
            return handler(params)
        self._stats.fault(fault)
        return self._faulty(fault, lambda: handler(params))

    def _faulty(self, kind: FaultKind, normal: Callable[[], Reply]) -> Reply:
        if isinstance(kind, int):
            return error_reply(kind)
        if kind == "html502":
            return Reply(502, HTML_502, HTML_TYPE)
        if kind == "html200":
            return Reply(200, HTML_200, HTML_TYPE)
        if kind == "truncated":
            body = normal().body
            return Reply(200, body[: max(1, len(body) // 2)])
        # slow: the real answer, too late for a client with a shorter timeout
        self._stopping.wait(self.slow_seconds)
        return normal()

    def _gettoken(self, params: dict[str, str]) -> Reply:
        corp_id, secret = params.get("corpid", ""), params.get("corpsecret", "")
        if not corp_id:
            return error_reply(41002)
        if not secret:
            return error_reply(41004)
        if not hmac.compare_digest(corp_id.encode(), self.corp_id.encode()):
            return error_reply(40013)
        if not hmac.compare_digest(secret.encode(), self._secret.encode()):
            return error_reply(40001)
        token, expires_in = self._tokens.issue()
        return ok_reply(access_token=token, expires_in=expires_in)

    def _contact_get(self, params: dict[str, str]) -> Reply:
        external_userid = params.get("external_userid", "")
        if self.school.is_lost(external_userid):
            return error_reply(84061)
        detail = self.school.contact(external_userid)
        if detail is None:
            return error_reply(40096)
        return ok_reply(**detail)

    def _contact_list(self, params: dict[str, str]) -> Reply:
        userid = params.get("userid", "")
        if not userid:
            return error_reply(41009)
        external_userids = self.school.followed_by(userid)
        if external_userids is None:
            return error_reply(60111)
        if not external_userids:
            return error_reply(84061)
        return ok_reply(external_userid=external_userids)

    def _department_list(self, params: dict[str, str]) -> Reply:
        text = params.get("id", "")
        if not text:
            return ok_reply(departments=self.school.departments())
        departments = self.school.departments(int(text)) if text.isdigit() else None
        return error_reply(60003) if departments is None else ok_reply(departments=departments)

    def _list_parent(self, params: dict[str, str]) -> Reply:
        text = params.get("department_id", "")
        parents = self.school.list_parent(int(text)) if text.isdigit() else None
        return error_reply(60003) if parents is None else ok_reply(parents=parents)

    def _list_students(self, params: dict[str, str]) -> Reply:
        text = params.get("department_id", "")
        students = self.school.list_students(int(text)) if text.isdigit() else None
        return error_reply(60003) if students is None else ok_reply(students=students)

    def _school_user_get(self, params: dict[str, str]) -> Reply:
        userid = params.get("userid", "")
        if not userid:
            return error_reply(41009)
        user = self.school.school_user(userid)
        return error_reply(60111) if user is None else ok_reply(**user)

    def _user_get(self, params: dict[str, str]) -> Reply:
        userid = params.get("userid", "")
        if not userid:
            return error_reply(41009)
        member = self.school.member(userid)
        return error_reply(60111) if member is None else ok_reply(**member)

    def _jsapi_ticket(self, params: dict[str, str]) -> Reply:
        ticket, expires_in = self._tickets.issue(JSAPI)
        return ok_reply(ticket=ticket, expires_in=expires_in)

    def _ticket_get(self, params: dict[str, str]) -> Reply:
        if params.get("type") != AGENT_CONFIG:
            return error_reply(40058)
        ticket, expires_in = self._tickets.issue(AGENT_CONFIG)
        return ok_reply(ticket=ticket, expires_in=expires_in)

    def _getuserinfo(self, params: dict[str, str]) -> Reply:
        identity = getuserinfo(self._codes, params)
        return error_reply(40029) if identity is None else ok_reply(**identity)
