"""Stop a call that runs too long, so a hanging variant is a measured failure."""

from __future__ import annotations

import contextlib
import signal
import threading
import time
from collections.abc import Iterator


class Timeout(Exception):
    """Raised inside a variant that exceeded its time limit."""


@contextlib.contextmanager
def deadline(seconds: float | None) -> Iterator[None]:
    """Raise :class:`Timeout` in the running code after ``seconds`` (main thread, POSIX only).

    Elsewhere (a worker thread, Windows) there is no way to interrupt pure Python code safely,
    so the call simply runs to the end.
    """
    usable = (
        seconds is not None
        and hasattr(signal, "setitimer")
        and threading.current_thread() is threading.main_thread()
    )
    if not usable:
        yield
        return

    def expire(signum: int, frame: object) -> None:
        raise Timeout(f"exceeded its time limit of {seconds:.3g} s")

    previous = signal.signal(signal.SIGALRM, expire)
    started = time.monotonic()
    # the user's own pending alarm, if any, is put back afterwards, less the time this took
    pending, interval = signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
        if pending:
            left = pending - (time.monotonic() - started)
            signal.setitimer(signal.ITIMER_REAL, max(left, 1e-6), interval)
