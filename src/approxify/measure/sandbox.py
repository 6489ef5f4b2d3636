"""Run the user's code, exact or approximate, in a forked child process.

Why a process: a variant (and the exact program, run by approxify hundreds of times) may write
into module globals of any type, advance a random generator, re-run decorators with side effects,
cancel the user's timers, catch the exception that should stop it, or crash the interpreter.
A forked child sees the parent's memory copy-on-write: whatever it changes, the user's process
never sees, whatever the type; it is killed when it overruns its time, and a segfault,
``os._exit`` or ``sys.exit`` in it is a measured failure. What comes back is plain data
(losses, timings, outputs), pickled through a pipe between our own two processes (never
persisted).

Where ``os.fork`` does not exist, or for a model (whose variants are private copies already and
whose thread pools do not survive a fork), the work runs in this process instead:
:func:`run` gives both the same interface.
"""

from __future__ import annotations

import ctypes
import functools
import gc
import os
import pickle
import select
import signal
import time
import traceback
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ..errors import ApproxifyError

CAN_FORK = hasattr(os, "fork")
_HEADER = 8  # bytes of each message's length
_EXITING: list[int] = []  # children that sent their result and are exiting, not reaped yet
PR_SET_PDEATHSIG = 1  # prctl option (linux/prctl.h): a signal for the child when its parent dies


@dataclass(frozen=True)
class Lost:
    """How the child ended when it did not finish its work."""

    kind: str  # "timeout" | "crash" | "error"
    message: str


@dataclass(frozen=True)
class Patience:
    """A message the work emits before a step: the step may take ``seconds``; the child is
    killed when nothing arrives for that long."""

    seconds: float


@dataclass
class Outcome:
    """What the work sent while it ran (``emit``), its return value, and how it ended."""

    messages: list[Any] = field(default_factory=list)
    value: Any = None
    lost: Lost | None = None

    @property
    def finished(self) -> bool:
        return self.lost is None


def describe(exc: BaseException) -> str:
    """``Type: message``, even when the exception's own ``__str__`` raises."""
    try:
        text = str(exc)
    except BaseException:  # noqa: BLE001 - a hostile __str__ is data too
        text = "<its message could not be formatted>"
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def run(work: Callable[[Callable[[Any], None]], Any], *, limit: float | None,
        isolate: bool = True) -> Outcome:
    """Run ``work(emit)``: in a forked child when ``isolate`` (and fork exists), else here.

    ``emit(message)`` sends a message back as the work goes, so what was measured before a
    crash or a kill is kept. ``limit``: seconds the child may go without sending anything
    before it is killed (None: no limit); a :class:`Patience` message sets it anew for the step
    that follows. In either mode an :class:`ApproxifyError` escaping ``work`` (a problem of the
    user's setup) is raised here with its cause, a ``KeyboardInterrupt`` stops the caller too,
    and any other exception ends the work as ``Lost("error", ...)``.
    """
    if not (isolate and CAN_FORK):
        return _in_process(work)
    _collect_exited()
    read_fd, write_fd = os.pipe()
    _libc()
    pid = -1
    # frozen, the parent's objects are out of the child's collector's sight: it never walks
    # them, which would copy every page of the parent's heap into the child
    gc.freeze()
    try:
        pid = os.fork()
    finally:
        if pid != 0:
            gc.unfreeze()
    if pid == 0:  # pragma: no cover - runs in the child; its results are what the tests see
        os.close(read_fd)
        _child(work, write_fd)
    os.close(write_fd)
    finished = False
    try:
        outcome = _collect(pid, read_fd, limit)
        finished = outcome.finished
        return outcome
    finally:
        os.close(read_fd)
        if finished:  # it sent everything and is leaving: collected later, not waited for
            _EXITING.append(pid)
        else:
            _reap(pid)


def _in_process(work: Callable[[Callable[[Any], None]], Any]) -> Outcome:
    outcome = Outcome()

    def emit(message: Any) -> None:
        if not isinstance(message, Patience):  # here, the work's own deadlines are all there is
            outcome.messages.append(message)

    try:
        outcome.value = work(emit)
    except (ApproxifyError, KeyboardInterrupt):  # the setup's error, the user's Ctrl-C: theirs
        raise
    except BaseException as exc:  # noqa: BLE001 - anything else the work raised is data
        outcome.lost = Lost("error", describe(exc))
    return outcome


def _child(work: Callable[[Callable[[Any], None]], Any], write_fd: int) -> None:  # pragma: no cover
    """Do the work, send everything back, and leave without running the parent's exit
    handlers or flushing its buffers (``os._exit``)."""
    try:
        _die_with_parent()
        signal.signal(signal.SIGINT, signal.default_int_handler)

        def emit(message: Any) -> None:
            data = pickle.dumps(("message", message), protocol=pickle.HIGHEST_PROTOCOL)
            _write(write_fd, data)

        with warnings.catch_warnings(record=True) as caught:
            result = _outcome_of(work, emit)
        if caught:  # warnings the work gave, shown by the parent as if raised there
            _write(write_fd, _pickled(("warnings", [_warning(w) for w in caught])))
        _write(write_fd, _pickled(result))
    finally:
        os._exit(0)


def _die_with_parent() -> None:  # pragma: no cover - child side
    """On Linux, the child is killed when the tuning process dies (even by SIGKILL), so a
    variant that hangs is never left running on its own."""
    try:
        _libc().prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    except (OSError, AttributeError):  # not Linux: the variant's next write to the pipe ends it
        pass


@functools.cache
def _libc() -> ctypes.CDLL | None:
    """The C library, loaded once in the parent (loading it again in every child costs)."""
    try:
        return ctypes.CDLL(None)
    except OSError:
        return None


def _outcome_of(work: Callable[[Callable[[Any], None]], Any], emit: Callable[[Any], None]) -> tuple:
    try:
        return "done", work(emit)
    except KeyboardInterrupt:
        return "interrupt", None  # the user's Ctrl-C (or code raising it): the parent stops too
    except ApproxifyError as exc:  # an error of the setup, raised again in the parent
        return "raise", (exc, exc.__cause__)
    except BaseException as exc:  # noqa: BLE001 - anything else the work raised is data
        return "error", describe(exc) + _where(exc)


def _warning(caught: warnings.WarningMessage) -> tuple:
    message = caught.message
    try:
        pickle.dumps(message)
    except Exception:  # noqa: BLE001 - a warning that cannot travel goes as its text
        message = str(message)
    return message, caught.category, caught.filename, caught.lineno


def _pickled(result: tuple[str, Any]) -> bytes:
    """``result`` as bytes; an error's cause that cannot be pickled is dropped, a result that
    cannot be pickled becomes an error saying so."""
    kind, payload = result
    attempts = [result]
    if kind == "raise":
        attempts.append((kind, (payload[0], None)))
    for attempt in attempts:
        try:
            return pickle.dumps(attempt, protocol=pickle.HIGHEST_PROTOCOL)
        except Exception:  # noqa: BLE001 - try the next, plainer form
            continue
    text = describe(payload[0]) if kind == "raise" else f"its result ({type(payload).__name__}) could not be sent back"
    return pickle.dumps(("error", text))


def _where(exc: BaseException) -> str:
    """The innermost frame of a failure in approxify's own child-side code, for bug reports."""
    frames = traceback.extract_tb(exc.__traceback__)
    return f" (at {frames[-1].filename}:{frames[-1].lineno})" if frames and "approxify" in frames[-1].filename else ""


def _write(fd: int, data: bytes) -> None:
    view = memoryview(len(data).to_bytes(_HEADER, "little") + data)
    while view:
        view = view[os.write(fd, view):]


def _collect(pid: int, fd: int, limit: float | None) -> Outcome:
    outcome = Outcome()
    buffer = bytearray()
    ends = None if limit is None else time.monotonic() + limit
    while True:
        wait = None if ends is None else max(0.0, ends - time.monotonic())
        ready, _, _ = select.select([fd], [], [], wait)
        if not ready:
            os.kill(pid, signal.SIGKILL)
            outcome.lost = Lost("timeout", f"killed after its time limit of {limit:.3g} s")
            return outcome
        chunk = os.read(fd, 1 << 20)
        if not chunk:
            break
        buffer += chunk
        while len(buffer) >= _HEADER:
            size = int.from_bytes(buffer[:_HEADER], "little")
            if len(buffer) < _HEADER + size:
                break
            kind, payload = pickle.loads(bytes(buffer[_HEADER:_HEADER + size]))  # noqa: S301 - our child
            del buffer[:_HEADER + size]
            if kind == "message" and isinstance(payload, Patience):
                limit = payload.seconds
            elif kind == "message":
                outcome.messages.append(payload)
            elif kind == "done":
                outcome.value = payload
                return outcome
            elif kind == "warnings":
                for message, category, filename, lineno in payload:
                    warnings.warn_explicit(message, category, filename, lineno)
            elif kind == "interrupt":
                raise KeyboardInterrupt
            elif kind == "raise":
                error, cause = payload
                raise error from cause
            else:
                outcome.lost = Lost("error", payload)
                return outcome
        # something arrived: the next step's clock starts
        ends = None if limit is None else time.monotonic() + limit
    outcome.lost = Lost("crash", f"its process ended without finishing ({_status(pid)})")
    return outcome


def _status(pid: int) -> str:
    try:
        _, status = os.waitpid(pid, 0)
    except ChildProcessError:
        return "exit status unknown"
    if os.WIFSIGNALED(status):
        number = os.WTERMSIG(status)
        return f"killed by signal {number} ({signal.Signals(number).name})"
    return f"exit status {os.WEXITSTATUS(status)}"


def _collect_exited() -> None:
    """Wait for the children that finished their work and were left to exit on their own (an
    exit tears down a copy of the whole address space: a few milliseconds no one waits for)."""
    for pid in list(_EXITING):
        try:
            done, _ = os.waitpid(pid, os.WNOHANG)
        except ChildProcessError:
            done = pid
        if done:
            _EXITING.remove(pid)


def _reap(pid: int) -> None:
    """Make sure the child is gone (a Ctrl-C in the parent leaves it running otherwise)."""
    try:
        done, _ = os.waitpid(pid, os.WNOHANG)
        if done == 0:
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
    except (ChildProcessError, ProcessLookupError):
        pass
