"""What the refresh commands print: a progress bar (on a terminal only), a line per parent, a summary.

The bar, `[##########----------] 120/2000 parents, 3 failed`, is one line redrawn in place
with a carriage return, at most ten times a second: a 20,000-parent run would otherwise spend its time
writing to the terminal. Output that goes to a file or a pipe gets no bar at all, so
logs and tests read line by line.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TextIO

from django.core.management.base import BaseCommand, CommandError, CommandParser, OutputWrapper

from contacts.services.runner import RefreshOutcome, RunSummary
from contacts.sharedcache import SharedCacheUnavailable

BAR_WIDTH = 30
MIN_INTERVAL = 0.1


class ProgressBar:
    def __init__(
        self,
        stream: OutputWrapper | TextIO,
        *,
        total: int,
        noun: str = "parents",
        enabled: bool | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._stream = stream
        self.total = total
        self._noun = noun
        isatty = getattr(stream, "isatty", None)
        self.enabled = bool(isatty and isatty()) if enabled is None else enabled
        self._clock = clock
        self._last_draw: float | None = None
        self._shown = ""
        self.done = 0
        self.failed = 0

    def update(self, *, done: int, failed: int = 0, force: bool = False) -> None:
        """Record how many parents are through (`failed` among them) and redraw if it is time."""
        self.done, self.failed = done, failed
        if not self.enabled:
            return
        now = self._clock()
        if force or self._last_draw is None or now - self._last_draw >= MIN_INTERVAL or done >= self.total:
            self._draw()
            self._last_draw = now

    def clear(self) -> None:
        """Rub the bar out, so that a line can be printed in its place; `update` draws it again."""
        if self.enabled and self._shown:
            self._write("\r" + " " * len(self._shown) + "\r")
            self._shown = ""
            self._last_draw = None

    def close(self) -> None:
        """Draw the final state and end the line."""
        if self.enabled:
            self._draw()
            self._write("\n")
            self._shown = ""

    def render(self) -> str:
        filled = BAR_WIDTH * self.done // self.total if self.total else BAR_WIDTH
        bar = "#" * filled + "-" * (BAR_WIDTH - filled)
        text = f"[{bar}] {self.done}/{self.total} {self._noun}"
        if self.failed:
            text += f", {self.failed} failed"
        return text

    def _draw(self) -> None:
        text = self.render()
        # Pad over a longer previous line (the count of failures can only grow, but be safe).
        padding = " " * max(len(self._shown) - len(text), 0)
        self._write("\r" + text + padding)
        self._shown = text

    def _write(self, text: str) -> None:
        if isinstance(self._stream, OutputWrapper):
            self._stream.write(text, ending="")
        else:
            self._stream.write(text)
        flush = getattr(self._stream, "flush", None)
        if flush:
            flush()


class OutcomePrinter:
    """The `on_outcome` callback of the refresh commands: a line per parent, the bar below them.

    Failures always get a line (on stderr); successes only when `show_refreshed`. With
    `in_order`, lines come in that order whatever order the threads finish in (for parents
    named on the command line); a line waits only for the parents before it. The runner
    calls this from its threads one call at a time, so it needs no lock of its own.
    """

    def __init__(
        self,
        command: BaseCommand,
        *,
        total: int,
        show_refreshed: bool = True,
        in_order: list[str] | None = None,
    ) -> None:
        self._command = command
        self._show_refreshed = show_refreshed
        self.bar = ProgressBar(command.stdout, total=total)
        self._done = 0
        self._failed = 0
        self._position = {external_userid: i for i, external_userid in enumerate(in_order or [])}
        self._next_position = 0
        self._waiting: dict[int, tuple[OutputWrapper, str] | None] = {}

    def __call__(self, outcome: RefreshOutcome) -> None:
        self._done += 1
        line: tuple[OutputWrapper, str] | None = None
        if outcome.error is not None:
            self._failed += 1
            text = f"FAILED  {outcome.external_userid}: {outcome.error.describe()}"
            line = (self._command.stderr, self._command.style.ERROR(text))
        elif self._show_refreshed:
            result = outcome.result
            label = f"{outcome.external_userid} {result.contact.name or ''}".strip()
            status = "NEW" if result.created else "OK"
            line = (self._command.stdout, f"{status:<7} {label}: {result.changes.summary()}")
        position = self._position.get(outcome.external_userid)
        if position is None:
            self._print(line)
        else:
            self._waiting[position] = line
            while self._next_position in self._waiting:
                self._print(self._waiting.pop(self._next_position))
                self._next_position += 1
        self.bar.update(done=self._done, failed=self._failed)

    def close(self) -> None:
        # Parents never tried (the run stopped) leave gaps: print what waits behind them.
        for position in sorted(self._waiting):
            self._print(self._waiting.pop(position))
        self.bar.close()

    def _print(self, line: tuple[OutputWrapper, str] | None) -> None:
        if line is not None:
            self.bar.clear()
            stream, text = line
            stream.write(text)


def add_concurrency_argument(parser: CommandParser) -> None:
    parser.add_argument(
        "--concurrency",
        type=positive_int,
        metavar="N",
        help="parents refreshed at once (default: WECOM_CONCURRENCY)",
    )


def positive_int(value: str) -> int:
    """An argparse type for --concurrency."""
    number = int(value)
    if number < 1:
        raise ValueError(value)
    return number


# The exit status of a command stopped by the shared cache: not a parent's failure (1), nothing could be done.
EXIT_SHARED_CACHE_UNAVAILABLE = 2


def report_summary(command: BaseCommand, summary: RunSummary) -> bool:
    """Print why the run stopped (if it did) and the summary line; True when any parent failed or was left."""
    if summary.gave_up_on_limits:
        command.stderr.write(command.style.ERROR(f"Stopped: {summary.stop_reason()}"))
    elif summary.stopped_by is not None and summary.left:
        command.stderr.write(
            command.style.ERROR(f"Stopped: {summary.stop_reason()} — the other parents would fail alike.")
        )
    if summary.retries:
        command.stdout.write(f"WeCom asked to slow down {summary.retries} time(s); those parents were put back.")
    failed = summary.failed + summary.left
    command.stdout.write(command.style.ERROR(str(summary)) if failed else command.style.SUCCESS(str(summary)))
    return bool(failed)


def shared_cache_unavailable(error: SharedCacheUnavailable) -> CommandError:
    """The error a command stops with at the first shared-cache failure: one message, exit status 2."""
    return CommandError(f"Stopped: {error.describe()}", returncode=EXIT_SHARED_CACHE_UNAVAILABLE)
