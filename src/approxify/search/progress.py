"""A rich progress display for tuning: one bar per phase, and the best speedup so far."""

from __future__ import annotations

from typing import Any

from .feasibility import feasible


class Progress:
    """Thin wrapper over ``rich.progress`` that does nothing when disabled (tests, --quiet)."""

    def __init__(self, *, enabled: bool) -> None:
        self.enabled = enabled
        self._progress = None
        self._tasks: dict[str, Any] = {}
        self.best_feasible = 1.0
        self.best_certified: float | None = None

    def __enter__(self) -> Progress:
        if self.enabled:
            from rich.progress import BarColumn, MofNCompleteColumn, TextColumn, TimeElapsedColumn
            from rich.progress import Progress as RichProgress

            self._progress = RichProgress(
                TextColumn("{task.description:<12}"), BarColumn(), MofNCompleteColumn(),
                TimeElapsedColumn(), TextColumn("{task.fields[note]}"), transient=False,
            )
            self._progress.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        if self._progress is not None:
            self._progress.__exit__(*exc)

    def start(self, phase: str, *, total: int, completed: int = 0) -> None:
        if self._progress is not None:
            self._tasks[phase] = self._progress.add_task(phase, total=total, completed=completed, note="")

    def advance(self, phase: str) -> None:
        if self._progress is not None:
            self._progress.advance(self._tasks[phase])

    def note_feasible(self, figures: dict[str, Any], bound: float) -> None:
        if feasible(figures, bound) and figures["speedup"] > self.best_feasible:
            self.best_feasible = figures["speedup"]
            self._note("search", f"best within bound (tuning inputs): {self.best_feasible:.2f}x")

    def note_certified(self, speedup: float) -> None:
        if self.best_certified is None or speedup > self.best_certified:
            self.best_certified = speedup
            self._note("certify", f"best certified (held-out): {speedup:.2f}x")

    def _note(self, phase: str, text: str) -> None:
        if self._progress is not None and phase in self._tasks:
            self._progress.update(self._tasks[phase], note=text)
