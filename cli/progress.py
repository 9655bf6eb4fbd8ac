"""Progress bars for the commands that can run for seconds (assess, stress, portfolio, report, book risk).

The bar is driven by the engine's own progress callback (``progress(step, done, total)``: the steps of
an assessment, the rows of a stress table, the finished tasks of a portfolio, the engine runs of a
readiness report), so it moves when work is done, not on a timer. It is drawn with rich on **stderr**,
only when stderr is a terminal, never with ``--quiet`` or ``--json`` (stdout then carries one clean
document), and only once the run has lasted ``DELAY`` seconds, so quick runs print nothing extra. When
it is off the engine receives ``None`` and does no progress work at all.
"""
from __future__ import annotations

import sys
import threading

import click

DELAY = 0.5   # seconds before the bar appears (a run shorter than that shows none)

quiet_option = click.option("--quiet", "-q", is_flag=True, help="No progress bar on stderr.")


def stderr_is_terminal() -> bool:
    return sys.stderr.isatty()


class ProgressBar:
    """A context manager: ``with ProgressBar("assessing", enabled) as progress: engine(..., progress=progress)``.

    ``progress`` is the engine callback, or None when the bar is off."""

    def __init__(self, label: str, enabled: bool, delay: float | None = None):
        self.label, self.enabled = label, enabled
        self.delay = DELAY if delay is None else delay
        self._lock = threading.Lock()
        self._started = self._stopped = False

    def __enter__(self):
        if not self.enabled:
            return None
        from rich.console import Console
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

        self.progress = Progress(TextColumn(f"{self.label}: " + "{task.description}"), BarColumn(),
                                 MofNCompleteColumn(), TimeElapsedColumn(),
                                 console=Console(file=sys.stderr, force_terminal=True), transient=True)
        self.task = self.progress.add_task("starting", total=None)
        self.timer = threading.Timer(self.delay, self._start)
        self.timer.daemon = True
        self.timer.start()
        return self.update

    def _start(self) -> None:
        with self._lock:
            if not self._stopped:
                self.progress.start()
                self._started = True

    def update(self, step: str, done: int = 0, total: int | None = None) -> None:
        self.progress.update(self.task, description=step, completed=done, total=total)

    def __exit__(self, *exc) -> None:
        if not self.enabled:
            return
        self.timer.cancel()
        with self._lock:
            self._stopped = True
            if self._started:
                self.progress.stop()


def progress_bar(label: str, quiet: bool = False, as_json: bool = False) -> ProgressBar:
    """The bar of a command: on only at a terminal and without ``--quiet`` / ``--json``."""
    return ProgressBar(label, enabled=not quiet and not as_json and stderr_is_terminal())
