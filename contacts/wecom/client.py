"""HTTP client for the WeCom (企业微信) school-edition API.

What it takes care of, so that callers need not:

- the access token: fetched with gettoken, kept in the Django cache (shared by all
  processes) and refreshed by one caller at a time, because WeCom rate-limits gettoken;
  the JS-SDK's two tickets (get_jsapi_ticket, ticket/get?type=agent_config) the same way,
  since their own limits are lower still;
- a rejected token (errcode 40014 or 42001): dropped, replaced, and the call tried once more;
- transient failures (errcode -1, 6000, 45033, timeouts, refused connections, HTTP 5xx,
  unreadable answers): at most three tries in all, with exponential backoff and jitter;
- the call budget: with a `rate_limiter` (from_settings builds one from
  WECOM_RATE_PER_MINUTE and WECOM_RATE_PER_HOUR), every request but gettoken first waits
  for its turn;
- the shared cache: every use of it goes through `SharedCache`, so a cache that cannot
  be reached is one `SharedCacheUnavailable`, never mistaken for a WeCom failure;
- every failure reaches callers as a `WeComError`. WeCom takes the token and the secret
  in the query string, and requests puts the full URL in its exception messages, so errors
  are built from redacted text only and never chained to the requests exception.
"""

from __future__ import annotations

import hashlib
import logging
import math
import os
import threading
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol
from urllib.parse import quote

import requests
from django.conf import settings
from django.core.cache.backends.base import BaseCache
from django.views.decorators.debug import sensitive_variables
from requests.adapters import HTTPAdapter
from tenacity import RetryCallState, Retrying, retry_if_exception, stop_after_attempt, wait_exponential_jitter

from contacts.sharedcache import SharedCache

from .errors import BAD_API_BASE, NOT_CONFIGURED, ErrorKind, WeComError
from .parsing import ParsedMember, SignInIdentity, parse_identity, parse_member
from .redaction import redact

logger = logging.getLogger("contacts.wecom")

# Retries of transient failures: 3 tries in all; with the default backoff of 1 s the
# waits are about 1-1.5 s then 2-2.5 s.
MAX_TRIES = 3
# requests keeps 10 connections per host by default; a job's threads each need their own.
DEFAULT_POOL_SIZE = 10
DEFAULT_BACKOFF = 1.0
BACKOFF_MAX = 8.0

# A dead host should fail fast even when reads are allowed to take longer.
MAX_CONNECT_TIMEOUT = 5.0

# gettoken: tokens live 7200 s; keep them a little less so that no call uses one that
# is about to expire, but never so little that a short-lived token is fetched on every call.
DEFAULT_EXPIRES_IN = 7200
TOKEN_SAFETY_MARGIN = 300
TOKEN_MIN_LIFETIME = 60
# How long a client trusts the token it read from the shared cache; well inside TOKEN_SAFETY_MARGIN, so a token
# dropped from the cache on expiry is still valid at WeCom for as long as a client may go on using it.
REMEMBER_SECONDS = 30

# One refresh at a time: waiters poll the cache at this interval.
LOCK_POLL_INTERVAL = 0.05
# A failed refresh is shared with the callers waiting for it for this long, instead of
# each of them calling gettoken again (repeated failing calls get gettoken blocked).
REFRESH_FAILURE_MEMORY = 5

# externalcontact/get paging: the school edition has no cursor, the enterprise edition
# pages follow_user by 500; 50 pages is far beyond any real contact, so more is a loop.
MAX_CURSOR_PAGES = 50

ERRCODE_NO_EXTERNAL_CONTACTS = 84061

MIN_SCRUBBED_LENGTH = 8

# Failures of the connection itself, worth trying again. (ConnectTimeout is both a
# ConnectionError and a Timeout; ReadTimeout is a Timeout.)
_TRANSIENT_TRANSPORT_ERRORS = (
    requests.ConnectionError,
    requests.Timeout,
    requests.exceptions.ChunkedEncodingError,
    requests.exceptions.ContentDecodingError,
)

_UNREADABLE = object()


class RateLimiter(Protocol):
    """What the client needs of a rate limiter (see contacts.services.ratelimit)."""

    def acquire(self) -> None: ...


@dataclass(frozen=True)
class _Credential:
    """Something WeCom hands out for a while, kept in the shared cache for every process: the
    access token, a JS-SDK ticket. Each has its own key, lock and remembered failure."""

    what: str  # for logs and errors: "access token"
    api: str  # the API that hands it out
    key: str
    lock_key: str
    failure_key: str

    @classmethod
    def of(cls, kind: str, *, what: str, api: str, app: str) -> _Credential:
        return cls(
            what=what,
            api=api,
            key=f"wecom:{kind}:{app}",
            lock_key=f"wecom:{kind}-lock:{app}",
            failure_key=f"wecom:{kind}-failure:{app}",
        )


class WeComClient:
    """Calls the WeCom API for one app (one corp id and secret).

    Methods that hold the token or the secret in a local variable are marked
    sensitive, so Django's error reports show their variables as stars.

    It holds a keep-alive `requests.Session`; the clients `from_settings` makes in one
    thread share that thread's session, so its connections outlive each client.
    The access token lives in `cache`, so clients in other threads and processes that
    share the cache share the token too.
    """

    def __init__(
        self,
        *,
        corp_id: str,
        secret: str,
        api_base: str,
        timeout: float,
        session: requests.Session | None = None,
        cache: BaseCache | None = None,
        sleep: Callable[[float], None] = time.sleep,
        backoff: float = DEFAULT_BACKOFF,
        pool_size: int = DEFAULT_POOL_SIZE,
        rate_limiter: RateLimiter | None = None,
    ) -> None:
        if cache is None:
            from django.core.cache import cache as default_cache

            cache = default_cache
        self._corp_id = corp_id
        self._secret = secret
        self._api_base = api_base.rstrip("/")
        self._timeouts = (min(timeout, MAX_CONNECT_TIMEOUT), timeout)
        self._session = session if session is not None else _session_for(self._api_base, pool_size=pool_size)
        self._cache = SharedCache(cache)
        self._sleep = sleep
        self._backoff = max(backoff, 0.0)
        self.rate_limiter = rate_limiter

        # The cache keys name the app by its corp id and a hash of its secret (every app
        # has its own secret and token); the secret itself never goes into a key.
        app = f"{corp_id}:{hashlib.sha256(secret.encode()).hexdigest()[:16]}"
        self._token = _Credential.of("token", what="access token", api="gettoken", app=app)
        # The token and tickets as last read from the shared cache: value and until when (monotonic) to trust it.
        self._remembered: dict[str, tuple[str, float]] = {}
        # The corp's ticket (wx.config) and the app's (wx.agentConfig). The corp's is fetched
        # with this app's token, so it is kept per app too.
        self._jsapi_ticket = _Credential.of("jsapi-ticket", what="jsapi ticket", api="get_jsapi_ticket", app=app)
        self._agent_ticket = _Credential.of("agent-ticket", what="agent config ticket", api="ticket/get", app=app)

        # The lock must outlive the slowest refresh (every try timing out, plus the
        # backoff), or a second caller would start one while the first still runs.
        # Waiters wait a little longer than that, so that they outlive a dead holder's lock.
        slowest_try = sum(self._timeouts)
        self.lock_timeout = math.ceil(MAX_TRIES * slowest_try + (MAX_TRIES - 1) * BACKOFF_MAX) + 1
        self.token_wait = self.lock_timeout + 5.0
        # A ticket's fetch may first wait for the access token, then call twice (a token
        # rejected on the way is replaced and the call tried once more).
        self.ticket_lock_timeout = math.ceil(self.token_wait + 2 * self.lock_timeout)
        self.ticket_wait = self.ticket_lock_timeout + 5.0

    @classmethod
    def from_settings(cls, *, max_wait: float | None = None) -> WeComClient:
        """A client for the app configured in the Django settings, with the shared cache.

        `max_wait` bounds how long one call waits for its turn (see SharedRateLimiter).
        """
        from django.core.cache import cache

        from contacts.services.ratelimit import rate_limiter_from_settings

        api_base = settings.WECOM_API_BASE.rstrip("/")
        return cls(
            corp_id=settings.WECOM_CORP_ID,
            secret=settings.WECOM_SECRET,
            api_base=api_base,
            timeout=settings.WECOM_TIMEOUT,
            session=_session_of_this_thread(api_base, pool_size=max(DEFAULT_POOL_SIZE, settings.WECOM_CONCURRENCY)),
            cache=cache,
            backoff=settings.WECOM_BACKOFF_SECONDS,
            rate_limiter=rate_limiter_from_settings(cache=cache, max_wait=max_wait),
        )

    # -- public API -------------------------------------------------------------------

    def get_external_contact(self, external_userid: str) -> dict[str, Any]:
        """The whole answer of externalcontact/get (errcode 0) for one parent.

        If WeCom pages follow_user (`next_cursor`, enterprise edition), the pages are
        fetched and their follow_user lists joined into the returned answer.
        """
        api = "externalcontact/get"
        answer = self._call(api, {"external_userid": external_userid})
        if not isinstance(answer.get("external_contact"), dict):
            raise WeComError.malformed(f"{api}: errcode 0 but no external_contact object", api=api)
        cursor = _next_cursor(answer, api)
        if not cursor:
            return answer

        follow_user = _follow_user(answer, api)
        seen = {cursor}
        for _page in range(MAX_CURSOR_PAGES - 1):
            page = self._call(api, {"external_userid": external_userid, "cursor": cursor})
            follow_user.extend(_follow_user(page, api))
            cursor = _next_cursor(page, api)
            if not cursor:
                answer.pop("next_cursor", None)
                answer["follow_user"] = follow_user
                return answer
            if cursor in seen:
                raise WeComError.malformed(f"{api}: next_cursor repeats an earlier page", api=api)
            seen.add(cursor)
        raise WeComError.malformed(f"{api}: follow_user still not complete after {MAX_CURSOR_PAGES} pages", api=api)

    def list_external_contacts(self, staff_userid: str) -> list[str]:
        """The external_userids of the parents that one staff member added.

        A member who added none makes WeCom answer 84061; that is an empty list here.
        """
        api = "externalcontact/list"
        try:
            answer = self._call(api, {"userid": staff_userid})
        except WeComError as error:
            if error.errcode == ERRCODE_NO_EXTERNAL_CONTACTS:
                return []
            raise
        return _list_of(answer, "external_userid", str, api)

    def list_departments(self, department_id: int | None = None) -> list[dict[str, Any]]:
        """The school's departments (classes, grades, ...); the whole tree without an id."""
        api = "school/department/list"
        params = {} if department_id is None else {"id": str(department_id)}
        return _list_of(self._call(api, params), "departments", dict, api)

    def list_students(self, department_id: int) -> list[dict[str, Any]]:
        """The students of one department (not its sub-departments), each with their parents (doc 92043)."""
        api = "school/user/list"
        answer = self._call(api, {"department_id": str(department_id)})
        return _list_of(answer, "students", dict, api)

    def list_parents(self, department_id: int) -> list[dict[str, Any]]:
        """The parents of one department (not its sub-departments)."""
        api = "school/user/list_parent"
        answer = self._call(api, {"department_id": str(department_id)})
        return _list_of(answer, "parents", dict, api)

    def get_school_user(self, userid: str) -> dict[str, Any]:
        """One student or parent of the roster (doc 92337): the whole answer, with a
        `student` object (user_type 1) or a `parent` object (user_type 2)."""
        api = "school/user/get"
        answer = self._call(api, {"userid": userid})
        if not isinstance(answer.get("student"), dict) and not isinstance(answer.get("parent"), dict):
            raise WeComError.malformed(f"{api}: errcode 0 but neither a student nor a parent object", api=api)
        return answer

    def get_member(self, userid: str) -> ParsedMember:
        """A member of the school (a teacher or other staff): their name and status (user/get, doc 90196)."""
        return parse_member(self._call("user/get", {"userid": userid}))

    @sensitive_variables("code")
    def get_user_identity(self, code: str) -> SignInIdentity:
        """Who a sign-in code belongs to (auth/getuserinfo, doc 91023): a member, or someone who is not.

        A code works once and for 5 minutes; a bad, used or expired one answers errcode 40029.
        """
        return parse_identity(self._call("auth/getuserinfo", {"code": code}))

    @sensitive_variables()
    def get_jsapi_ticket(self) -> str:
        """The corp's jsapi_ticket, for signing a page's wx.config (get_jsapi_ticket, doc 90506).

        Kept in the shared cache for its lifetime (7200 s) less a margin, fetched by one
        caller at a time: WeCom allows 400 fetches an hour for a school, 100 for one app.
        """
        return self._cached(
            self._jsapi_ticket,
            lambda: self._fetch_ticket("get_jsapi_ticket", {}),
            lock_timeout=self.ticket_lock_timeout,
            wait=self.ticket_wait,
        )

    @sensitive_variables()
    def get_agent_config_ticket(self) -> str:
        """The app's ticket, for signing a page's wx.agentConfig (ticket/get?type=agent_config, doc 90506);
        cached like get_jsapi_ticket."""
        return self._cached(
            self._agent_ticket,
            lambda: self._fetch_ticket("ticket/get", {"type": "agent_config"}),
            lock_timeout=self.ticket_lock_timeout,
            wait=self.ticket_wait,
        )

    # -- calls with the access token ---------------------------------------------------

    @sensitive_variables()
    def _call(self, api: str, params: Mapping[str, str]) -> dict[str, Any]:
        """GET an API with the access token; if WeCom rejects the token, replace it and try once more."""
        token = self._access_token()
        try:
            return self._get_with_retries(api, {**params, "access_token": token})
        except WeComError as error:
            if error.kind is not ErrorKind.TOKEN:
                raise
            logger.info("WeCom %s: access token rejected (errcode %s), fetching a new one", api, error.errcode)
        # Outside the except block, so that a second rejection is raised as it is, unchained.
        self._forget_token(token)
        token = self._access_token()
        return self._get_with_retries(api, {**params, "access_token": token})

    @sensitive_variables()
    def _get_with_retries(self, api: str, params: Mapping[str, str]) -> dict[str, Any]:
        retrying = Retrying(
            stop=stop_after_attempt(MAX_TRIES),
            wait=wait_exponential_jitter(
                multiplier=self._backoff, jitter=self._backoff / 2, max=BACKOFF_MAX if self._backoff else 0
            ),
            retry=retry_if_exception(_is_transient),
            sleep=self._sleep,
            before_sleep=_log_retry,
            reraise=True,
        )
        return retrying(self._get_once, api, params)

    @sensitive_variables()
    def _get_once(self, api: str, params: Mapping[str, str]) -> dict[str, Any]:
        """One GET: the answer's JSON object when errcode is 0, else a WeComError."""
        # Every try counts against WeCom's limit, retries included. gettoken is left out:
        # it has a limit of its own, is called once per token, and runs while holding the
        # token lock, which must not be held through a 60 s pause after a 45009.
        if self.rate_limiter is not None and api != "gettoken":
            self.rate_limiter.acquire()
        try:
            response = self._send_get(f"{self._api_base}/{api}", params)
        except requests.RequestException as exc:
            failure = self._transport_failure(api, exc, params)
        else:
            return self._read_answer(api, response, params)
        # Raised here rather than in the except block: the requests exception's message
        # holds the URL with the token or the secret, and must not become __context__.
        raise failure

    @sensitive_variables()
    def _send_get(self, url: str, params: Mapping[str, str]) -> requests.Response:
        """GET `url` through the session's adapter and read the whole answer.

        Not `Session.get`: on every call it merges cookies, hooks and redirect handling, none
        of which WeCom's API uses, for as much CPU as the rest of an unchanged parent's
        refresh. The session's headers, proxies and CA bundle still apply (see `_session_for`).
        """
        request = requests.PreparedRequest()
        request.prepare(method="GET", url=url, headers=self._session.headers, params=dict(params))
        response = self._session.get_adapter(url).send(
            request,
            timeout=self._timeouts,
            verify=self._session.verify,
            cert=self._session.cert,
            proxies=self._session.proxies,
        )
        # Read to the end, so that the connection goes back to the pool whatever the answer.
        response.content  # noqa: B018
        return response

    @sensitive_variables()
    def _transport_failure(self, api: str, exc: requests.RequestException, params: Mapping[str, str]) -> WeComError:
        logger.info("WeCom %s: %s", api, type(exc).__name__)
        detail = f"{api}: {type(exc).__name__}: {self._scrub(str(exc), params)}"[:500]
        if isinstance(exc, _TRANSIENT_TRANSPORT_ERRORS):
            return WeComError.unreachable(detail, api=api)
        # An invalid URL or scheme: WECOM_API_BASE is wrong, retrying cannot help.
        return WeComError(f"WeCom could not be called: {detail}", reason=BAD_API_BASE, detail=detail, api=api)

    @sensitive_variables()
    def _read_answer(self, api: str, response: requests.Response, params: Mapping[str, str]) -> dict[str, Any]:
        status = response.status_code
        content_type = (response.headers.get("Content-Type") or "no content type").split(";")[0].strip()
        if 300 <= status < 400:
            # WeCom's API never redirects: WECOM_API_BASE points elsewhere (http:// for https://, say).
            logger.info("WeCom %s: HTTP %s redirect", api, status)
            detail = f"{api}: HTTP {status} redirect to {self._scrub(response.headers.get('Location') or '?', params)}"
            raise WeComError(f"WeCom could not be called: {detail}", reason=BAD_API_BASE, detail=detail, api=api)
        if status >= 500 or status == 429:
            logger.info("WeCom %s: HTTP %s", api, status)
            raise WeComError.unreachable(f"{api}: HTTP {status}, {content_type}", api=api)

        body = _parse_json(response)
        if body is _UNREADABLE:
            logger.info("WeCom %s: HTTP %s, %s, not JSON", api, status, content_type)
            # A 2xx that cannot be read is a cut connection or a gateway page: try again.
            # A 4xx page means the URL is wrong, which another try will not change.
            raise WeComError.malformed(
                f"{api}: HTTP {status}, {content_type}, not JSON", api=api, transient=status < 400
            )
        if not isinstance(body, dict):
            logger.info("WeCom %s: HTTP %s, JSON %s", api, status, _json_type(body))
            raise WeComError.malformed(f"{api}: HTTP {status}, a JSON {_json_type(body)} instead of an object", api=api)
        errcode = body.get("errcode")
        if type(errcode) is not int:  # bool is an int subclass, and no errcode
            logger.info("WeCom %s: HTTP %s, no integer errcode", api, status)
            raise WeComError.malformed(f"{api}: HTTP {status}, no integer errcode in the answer", api=api)

        logger.debug("WeCom %s: HTTP %s, errcode %s", api, status, errcode)
        if errcode != 0:
            errmsg = body.get("errmsg")
            errmsg = self._scrub(errmsg if isinstance(errmsg, str) else "", params)
            raise WeComError.from_errcode(errcode, errmsg, api=api)
        return body

    @sensitive_variables()
    def _scrub(self, text: str, params: Mapping[str, str]) -> str:
        """`text` without the token, the secret or a sign-in code, whether as a URL parameter or bare."""
        text = redact(text)
        for value in (params.get("access_token"), params.get("corpsecret"), params.get("code"), self._secret):
            # Real tokens and secrets are dozens of characters; replacing a value of a
            # few characters everywhere would only garble the message.
            if value and len(value) >= MIN_SCRUBBED_LENGTH:
                text = text.replace(value, "***").replace(quote(value, safe=""), "***")
        return text

    # -- the access token and the tickets: cached, one refresh at a time -----------------

    @sensitive_variables()
    def _access_token(self) -> str:
        return self._cached(self._token, self._fetch_token, lock_timeout=self.lock_timeout, wait=self.token_wait)

    @sensitive_variables()
    def _cached(
        self, credential: _Credential, fetch: Callable[[], tuple[str, int]], *, lock_timeout: int, wait: float
    ) -> str:
        remembered = self._remembered.get(credential.key)
        if remembered is not None and remembered[1] > time.monotonic():
            return remembered[0]
        value = self._cache.get(credential.key)
        if not value:
            value = self._refresh(credential, fetch, lock_timeout=lock_timeout, wait=wait)
        # One read of the shared cache per REMEMBER_SECONDS, not per call: a parent that answers as stored
        # costs little more than its one WeCom call. A value WeCom refuses is forgotten here too.
        self._remembered[credential.key] = (value, time.monotonic() + REMEMBER_SECONDS)
        return value

    @sensitive_variables()
    def _refresh(
        self, credential: _Credential, fetch: Callable[[], tuple[str, int]], *, lock_timeout: int, wait: float
    ) -> str:
        """Fetch a credential, one caller at a time across threads and processes.

        The caller that adds the lock key fetches; the others poll the cache until the
        value appears. The lock expires by itself, so if its holder dies one waiter takes
        it over. If the holder fails, the waiters raise its error rather than each
        calling WeCom again.
        """
        owner = uuid.uuid4().hex
        waiting_since = time.time()
        deadline = time.monotonic() + wait
        while True:
            if self._cache.add(credential.lock_key, owner, timeout=lock_timeout):
                try:
                    # Another caller may have stored one between our get and add.
                    return self._cache.get(credential.key) or self._fetch_and_store(credential, fetch)
                finally:
                    self._release_lock(credential, owner)
            time.sleep(LOCK_POLL_INTERVAL)
            value = self._cache.get(credential.key)
            if value:
                return value
            failure = self._failure_since(credential, waiting_since)
            if failure is not None:
                raise failure
            if time.monotonic() >= deadline:
                raise WeComError.unreachable(
                    f"{credential.api}: gave up waiting for another process to fetch the {credential.what}",
                    api=credential.api,
                )

    @sensitive_variables()
    def _fetch_and_store(self, credential: _Credential, fetch: Callable[[], tuple[str, int]]) -> str:
        try:
            value, expires_in = fetch()
        except WeComError as error:
            self._cache.set(credential.failure_key, (time.time(), error), timeout=REFRESH_FAILURE_MEMORY)
            raise
        lifetime = _token_lifetime(expires_in)
        self._cache.set(credential.key, value, timeout=lifetime)
        logger.info("WeCom %s: new %s, kept for %s s", credential.api, credential.what, lifetime)
        return value

    @sensitive_variables()
    def _fetch_token(self) -> tuple[str, int]:
        api = "gettoken"
        if not self._corp_id or not self._secret:
            raise WeComError("WECOM_CORP_ID and WECOM_SECRET must both be set", reason=NOT_CONFIGURED, api=api)
        answer = self._get_with_retries(api, {"corpid": self._corp_id, "corpsecret": self._secret})
        token = answer.get("access_token")
        if not isinstance(token, str) or not token:
            raise WeComError.malformed(f"{api}: errcode 0 but no access_token", api=api)
        return token, _expires_in(answer.get("expires_in"))

    @sensitive_variables()
    def _fetch_ticket(self, api: str, params: Mapping[str, str]) -> tuple[str, int]:
        answer = self._call(api, params)
        ticket = answer.get("ticket")
        if not isinstance(ticket, str) or not ticket:
            raise WeComError.malformed(f"{api}: errcode 0 but no ticket", api=api)
        return ticket, _expires_in(answer.get("expires_in"))

    @sensitive_variables()
    def _forget_token(self, failed_token: str) -> None:
        """Drop the cached token, unless another caller has already replaced it."""
        self._remembered.pop(self._token.key, None)
        # Not atomic: at worst a fresh token is dropped and fetched once more.
        if self._cache.get(self._token.key) == failed_token:
            self._cache.delete(self._token.key)

    def _release_lock(self, credential: _Credential, owner: str) -> None:
        # Only our own lock: if ours expired, another caller may hold the key now.
        if self._cache.get(credential.lock_key) == owner:
            self._cache.delete(credential.lock_key)

    def _failure_since(self, credential: _Credential, since: float) -> WeComError | None:
        entry = self._cache.get(credential.failure_key)
        if isinstance(entry, tuple) and len(entry) == 2 and entry[0] >= since and isinstance(entry[1], WeComError):
            return entry[1]
        return None


def _session_for(api_base: str, *, pool_size: int) -> requests.Session:
    """A keep-alive session that can hold `pool_size` connections to WeCom at once.

    The proxy (HTTPS_PROXY, NO_PROXY) and CA bundle (REQUESTS_CA_BUNDLE) settings of the
    environment are read once, here: left to requests, every call would scan the whole
    environment and ~/.netrc again, which costs more CPU than the rest of a refresh.
    """
    session = requests.Session()
    session.trust_env = False
    session.proxies.update(requests.utils.get_environ_proxies(api_base))
    bundle = os.environ.get("REQUESTS_CA_BUNDLE") or os.environ.get("CURL_CA_BUNDLE")
    if bundle:
        session.verify = bundle
    adapter = HTTPAdapter(pool_connections=2, pool_maxsize=max(pool_size, 1))
    session.mount("https://", adapter)
    session.mount("http://", adapter)
    return session


class _ThreadSession(threading.local):
    key: tuple[int, str, int] | None = None
    session: requests.Session | None = None


_thread_session = _ThreadSession()


def _session_of_this_thread(api_base: str, *, pool_size: int) -> requests.Session:
    """The calling thread's one keep-alive session to WeCom, made on its first use.

    A worker applies one callback event after another, a web process serves one refresh
    after another: each would otherwise open a new connection (a TLS handshake) for every
    single call. A session made for other settings, or in the process before a fork, is
    closed and replaced.
    """
    key = (os.getpid(), api_base, pool_size)
    if _thread_session.key != key or _thread_session.session is None:
        if _thread_session.session is not None and _thread_session.key[0] == os.getpid():
            _thread_session.session.close()
        _thread_session.session = _session_for(api_base, pool_size=pool_size)
        _thread_session.key = key
    return _thread_session.session


def get_client(*, max_wait: float | None = None) -> WeComClient:
    """A client configured from the Django settings, on the calling thread's session; `max_wait` as in
    WeComClient.from_settings."""
    return WeComClient.from_settings(max_wait=max_wait)


# -- module functions ---------------------------------------------------------------------


def _is_transient(exc: BaseException) -> bool:
    return isinstance(exc, WeComError) and exc.kind is ErrorKind.TRANSIENT


def _log_retry(retry_state: RetryCallState) -> None:
    error = retry_state.outcome.exception() if retry_state.outcome else None
    api = retry_state.args[0] if retry_state.args else "?"
    wait = retry_state.next_action.sleep if retry_state.next_action else 0.0
    logger.warning(
        "WeCom %s: try %d of %d failed (errcode %s), trying again in %.1f s",
        api,
        retry_state.attempt_number,
        MAX_TRIES,
        getattr(error, "errcode", None),
        wait,
    )


def _parse_json(response: requests.Response) -> Any:
    """The decoded body, or `_UNREADABLE` (not JSON, cut short, or not text)."""
    try:
        return response.json()
    # requests' JSONDecodeError and UnicodeDecodeError are ValueErrors; absurdly deep
    # nesting makes the decoder recurse too far.
    except (ValueError, RecursionError):
        return _UNREADABLE


def _json_type(value: Any) -> str:
    if isinstance(value, list):
        return "array"
    if isinstance(value, str):
        return "string"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    return "null" if value is None else type(value).__name__


def _expires_in(value: Any) -> int:
    """The token lifetime WeCom gave; 7200 s when missing or odd (not a positive number, or larger)."""
    if isinstance(value, bool):
        return DEFAULT_EXPIRES_IN
    try:
        seconds = int(value)
    except (TypeError, ValueError, OverflowError):
        return DEFAULT_EXPIRES_IN
    if seconds <= 0 or seconds > DEFAULT_EXPIRES_IN:
        return DEFAULT_EXPIRES_IN
    return seconds


def _token_lifetime(expires_in: int) -> int:
    """How long to keep a token: its lifetime less a margin, but at least a minute or
    half its lifetime, whichever is shorter."""
    return max(expires_in - TOKEN_SAFETY_MARGIN, min(TOKEN_MIN_LIFETIME, expires_in // 2), 1)


def _list_of(answer: Mapping[str, Any], key: str, item_type: type, api: str) -> list[Any]:
    items = answer.get(key)
    if not isinstance(items, list) or not all(isinstance(item, item_type) for item in items):
        kind = "strings" if item_type is str else "objects"
        raise WeComError.malformed(f"{api}: errcode 0 but no list of {kind} in {key!r}", api=api)
    return items


def _follow_user(answer: Mapping[str, Any], api: str) -> list[Any]:
    """A page's follow_user list; a page without one has no staff on it."""
    if "follow_user" not in answer:
        return []
    return list(_list_of(answer, "follow_user", dict, api))


def _next_cursor(answer: Mapping[str, Any], api: str) -> str:
    cursor = answer.get("next_cursor")
    if cursor is None or cursor == "":
        return ""
    if not isinstance(cursor, str):
        raise WeComError.malformed(f"{api}: next_cursor is not a string", api=api)
    return cursor
