"""Texts kept as a code and its values, and put into words only when read, in the reader's language.

What happened to a job, a callback event or a staff member's refresh is stored as data,
`{"code": "abandoned", "minutes": 5}`, the way the admin's own LogEntry keeps its change
message, and never as a sentence in the language of whoever caused it. A `TextCatalogue`
holds one kind of text: each code with its Chinese source text, marked for translation,
or a function for a text that needs more than a format string.

A value is shown as it is, unless it is a dict naming what it holds:

- `{"error": <WeComError record>}`: the error, its meaning and what to do;
- `{"held_back": {"until": <epoch seconds>, "by_wecom": bool}}`: calls held back by WeCom's
  limits or this app's budget, and from when (in Beijing time) to try again;
- `{"cache_unavailable": <the cache error's type>}`: the shared cache down, what to check;
- `{"changes": <ContactChanges JSON>, "names": {userid: name}}`: what a refresh changed (phones
  masked), its teachers by the names they had then;
- `{"code": ...}`: another text of the same catalogue.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any

from django.conf import settings
from django.utils.translation import get_language, gettext

from contacts.bilingual import in_language
from contacts.services.changes import ContactChanges
from contacts.services.ratelimit import CallsHeldBack
from contacts.sharedcache import UNAVAILABLE, SharedCacheUnavailable
from contacts.wecom.errors import WeComError

Message = dict[str, Any]
Render = Callable[[Mapping[str, Any]], str]


def error_text(record: Mapping[str, Any] | None, *, legacy: str = "") -> str:
    """A stored WeComError record in the reader's language; `legacy` is the text of rows written before records."""
    if record:
        return WeComError.from_record(dict(record)).for_reader()
    return legacy


def error_value(error: WeComError) -> dict[str, Any]:
    return {"error": error.as_record()}


def problem_value(problem: WeComError | CallsHeldBack | SharedCacheUnavailable) -> dict[str, Any]:
    """Why something could not be done: WeCom's error, calls held back by WeCom's limits, or the shared cache down."""
    if isinstance(problem, CallsHeldBack):
        return {"held_back": {"until": problem.until, "by_wecom": problem.by_wecom}}
    if isinstance(problem, SharedCacheUnavailable):
        return {"cache_unavailable": problem.cause_name}
    return error_value(problem)


def reader_language() -> str:
    """The language of the page being served; the settings' one in a command."""
    return get_language() or settings.LANGUAGE_CODE


def changes_value(changes: ContactChanges, *, names: Mapping[str, str] | None = None) -> dict[str, Any]:
    """What a refresh changed; `names`, the teachers' names by userid when it was stored, to show them by name."""
    value: dict[str, Any] = {"changes": changes.as_json()}
    if names:
        value["names"] = dict(names)
    return value


class TextCatalogue:
    def __init__(self, texts: Mapping[str, str | Render]) -> None:
        self._texts = dict(texts)

    def message(self, code: str, **values: Any) -> Message:
        """A text to store; an unknown code fails here, where it is written, not where it is read."""
        if code not in self._texts:
            raise KeyError(f"no text {code!r} in this catalogue")
        return {"code": code, **values}

    def render(self, message: Mapping[str, Any]) -> str:
        text = self._texts.get(message.get("code", ""))
        values = {name: self._value(value) for name, value in message.items() if name != "code"}
        if text is None:
            # Written by a newer version, or a code since removed: show what there is.
            return " ".join(str(value) for value in (message.get("code", ""), *values.values()) if value)
        if callable(text):
            return text(values)
        return gettext(text) % values if values else gettext(text)

    def render_lines(self, messages: Iterable[Mapping[str, Any]]) -> str:
        return "\n".join(self.render(message) for message in messages)

    def stored_text(self, stored: Mapping[str, Any] | list | None, *, legacy: str = "") -> str:
        """A stored message, or a list of them one per line; `legacy` is the text of rows written before codes."""
        if not stored:
            return legacy
        return self.render_lines(stored) if isinstance(stored, list) else self.render(stored)

    def _value(self, value: Any) -> Any:
        if isinstance(value, Mapping):
            if "error" in value:
                return error_text(value["error"])
            if "held_back" in value:
                held = value["held_back"]
                # The time is the stored instant, put in Beijing time now.
                return CallsHeldBack(until=float(held["until"]), by_wecom=bool(held["by_wecom"])).describe(
                    language=reader_language()
                )
            if "cache_unavailable" in value:
                return in_language(UNAVAILABLE, language=reader_language())
            if "changes" in value:
                return ContactChanges.from_json(value["changes"]).summary(names=value.get("names"))
            if "code" in value:
                return self.render(value)
        return value
