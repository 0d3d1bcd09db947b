"""Fault injection: the ways WeCom (or what stands in front of it) fails, on demand.

A fault kind is either an errcode (answered as `{"errcode": N, "errmsg": ...}` with HTTP
200, like WeCom does) or one of:

- `html502`:   HTTP 502 with an HTML page, as a proxy or load balancer answers
- `html200`:   HTTP 200 with an HTML page (a captive portal, a misrouted request)
- `truncated`: HTTP 200 with the real JSON answer cut in the middle
- `slow`:      the real answer, but only after the slow delay (30 s unless configured),
               so that a client's timeout fires first

A fault can be bound to one external_userid (it then applies to externalcontact/get for
that id) and can be limited to its first N calls: the text form is `KIND` or `KIND:N`,
e.g. `-1:2` fails twice then succeeds. Besides, a rate in [0, 1] injects, at random (from a
seeded generator), one of a list of kinds into every API call except gettoken.
"""

from __future__ import annotations

import random
import threading
from dataclasses import dataclass

ERRCODE_KINDS: tuple[int, ...] = (-1, 6000, 40014, 42001, 45009, 45033, 48002, 60011, 60020, 84061, 84074, 40096)
SPECIAL_KINDS: tuple[str, ...] = ("html502", "html200", "truncated", "slow")
ALL_KINDS: tuple[int | str, ...] = (*ERRCODE_KINDS, *SPECIAL_KINDS)
# What a random rate injects unless told otherwise: the failures a healthy deployment meets.
# Configuration errors (48002, 60020, ...) do not come and go at random, and `slow` would
# make every test wait.
DEFAULT_RATE_KINDS: tuple[int | str, ...] = (-1, 6000, 40014, 42001, 45033, "html502", "html200", "truncated")

FaultKind = int | str


@dataclass
class Fault:
    kind: FaultKind
    times: int | None = None  # None: every call; N: the next N calls, then the fault is gone

    def __str__(self) -> str:
        return f"{self.kind}" if self.times is None else f"{self.kind}:{self.times}"


def parse_kind(value: int | str) -> FaultKind:
    """An errcode (int, or its text such as "-1") or a special kind name; ValueError otherwise."""
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise ValueError(f"unknown fault kind {value!r}")
    if isinstance(value, int):
        kind: FaultKind = value
    else:
        text = value.strip()
        kind = int(text) if text.lstrip("-").isdigit() else text
    if kind not in ALL_KINDS:
        known = ", ".join(str(k) for k in ALL_KINDS)
        raise ValueError(f"unknown fault kind {value!r}; known kinds: {known}")
    return kind


def parse_fault(value: int | str) -> Fault:
    """`KIND` or `KIND:N` (the first N calls fail), e.g. "html502", "-1:2", 45009."""
    if isinstance(value, str) and ":" in value:
        kind_text, _, times_text = value.rpartition(":")
        if not times_text.strip().isdigit() or int(times_text) < 1:
            raise ValueError(f"bad fault {value!r}: the count after ':' must be a positive number")
        return Fault(parse_kind(kind_text), int(times_text))
    return Fault(parse_kind(value))


def parse_assignment(text: str) -> tuple[str, Fault]:
    """`EXTERNAL_USERID=KIND[:N]`, the form of the command's --fault option."""
    external_userid, separator, fault = text.partition("=")
    if not separator or not external_userid.strip():
        raise ValueError(f"bad fault {text!r}: expected EXTERNAL_USERID=KIND[:N]")
    return external_userid.strip(), parse_fault(fault)


class FaultPlan:
    """The faults in force; safe to use from many threads."""

    def __init__(
        self,
        *,
        seed: int = 1,
        rate: float = 0.0,
        rate_kinds: tuple[FaultKind, ...] = DEFAULT_RATE_KINDS,
        faults: dict[str, Fault | int | str] | None = None,
    ) -> None:
        self._lock = threading.Lock()
        self._random = random.Random(f"{seed}:faults")
        self._by_id: dict[str, Fault] = {}
        self._rate = 0.0
        self._rate_kinds: tuple[FaultKind, ...] = DEFAULT_RATE_KINDS
        self.set_rate(rate, rate_kinds)
        for external_userid, fault in (faults or {}).items():
            self.set(external_userid, fault)

    def set(self, external_userid: str, fault: Fault | int | str) -> None:
        if not isinstance(fault, Fault):
            fault = parse_fault(fault)
        with self._lock:
            self._by_id[external_userid] = Fault(fault.kind, fault.times)

    def set_rate(self, rate: float, kinds: tuple[FaultKind, ...] | list[FaultKind] | None = None) -> None:
        if not 0.0 <= rate <= 1.0:
            raise ValueError("the fault rate must be between 0 and 1")
        parsed = tuple(parse_kind(kind) for kind in kinds) if kinds is not None else None
        if parsed == ():
            raise ValueError("a fault rate needs at least one kind")
        with self._lock:
            self._rate = rate
            if parsed is not None:
                self._rate_kinds = parsed

    def clear(self) -> None:
        """No fault at all: per-id faults gone, rate 0 (the kinds are kept)."""
        with self._lock:
            self._by_id.clear()
            self._rate = 0.0

    def take_for(self, external_userid: str) -> FaultKind | None:
        """The fault for this id's next call, if any; counts it against a limited fault."""
        with self._lock:
            fault = self._by_id.get(external_userid)
            if fault is None:
                return None
            if fault.times is not None:
                fault.times -= 1
                if fault.times <= 0:
                    del self._by_id[external_userid]
            return fault.kind

    def take_random(self) -> FaultKind | None:
        with self._lock:
            if self._rate <= 0.0 or self._random.random() >= self._rate:
                return None
            return self._random.choice(self._rate_kinds)

    def snapshot(self) -> dict[str, object]:
        with self._lock:
            return {
                "rate": self._rate,
                "rate_kinds": list(self._rate_kinds),
                "faults": {external_userid: str(fault) for external_userid, fault in self._by_id.items()},
            }
