"""A variant, and the exact program run by approxify, change nothing the user can observe; a
variant's failure of any kind is a measured failure, never a crash or a hang of the tool."""

from __future__ import annotations

import hashlib
import pickle
import signal
import threading

import numpy as np
import pytest

import approxify as ax
import hostile_kernels as H

HALF = ax.Perforate(0.5)
XS = [[float(i) for i in range(1, 9)] for _ in range(6)]


def loop(fn, index=0):
    return f"hostile_kernels.{fn.__name__}/for#{index}"


def state() -> str:
    """A digest of every module-level object the hostile kernels touch."""
    parts = (H.SEEN, H.MEMO, H.TABLE, H.RNG.bit_generator.state, H.PY_RNG.getstate(), H.BUFFER,
             H.SCALE, H.REGISTRY, H.with_attribute.__dict__)
    return hashlib.sha256(pickle.dumps(parts)).hexdigest()


@pytest.fixture
def untouched():
    before = state()
    yield
    assert state() == before, "a module-level object of the user's changed"


@pytest.mark.parametrize("fn", [H.appends, H.writes_table, H.draws, H.decorated, H.scaled])
def test_evaluate_changes_no_module_state(fn, untouched):
    result = ax.evaluate(fn, {loop(fn): HALF}, XS, repeats=2)
    assert result.failures == ()


def test_approximate_changes_no_module_state(untouched):
    inputs = [[float(i + j) for i in range(40)] for j in range(120)]
    result = ax.approximate(H.appends, inputs, bound=0.6, budget=ax.Budget(trials=3), progress=False,
                            repeats=1)
    assert result.points


def test_the_users_inputs_are_not_changed_object_arrays_included(untouched):
    inputs = [np.array([[1.0], [2.0]], dtype=object) for _ in range(3)]

    def digest():
        return hashlib.sha256(pickle.dumps(inputs)).hexdigest()

    before = digest()
    ax.evaluate(H.writes_table, {loop(H.writes_table): HALF}, [(x.ravel().tolist(),) for x in inputs])
    assert digest() == before


def test_a_memo_filled_by_a_variant_does_not_poison_the_exact_function(untouched):
    # the loop that multiplies is perforated: the variant's n! is wrong, and it memoizes it
    result = ax.evaluate(H.memoized, {loop(H.memoized): HALF}, [5, 6, 7], repeats=1)
    assert min(result.losses) > 0  # the variant's n! is wrong
    assert H.MEMO == {}  # and nothing of it leaked into the user's cache


def test_apply_gives_a_variant_whose_writes_stay_its_own(untouched):
    variant = ax.apply(H.appends, {loop(H.appends): HALF})
    assert variant([1.0, 2.0, 3.0, 4.0]) == 4.0  # iterations 0 and 2
    variant = ax.apply(H.memoized, {loop(H.memoized): HALF})
    variant(5)
    assert H.MEMO == {} and H.memoized(5) == 120.0
    H.MEMO.clear()  # the exact call above memoized, as the user's own call does


def test_a_variant_reads_globals_as_they_are_when_called():
    variant = ax.apply(H.scaled, {})
    assert variant([1.0, 3.0]) == H.scaled([1.0, 3.0]) == 12.0
    previous, H.SCALE = H.SCALE, 2.0
    try:
        assert variant([1.0, 3.0]) == H.scaled([1.0, 3.0]) == 8.0
    finally:
        H.SCALE = previous


def test_a_function_reading_its_own_attribute_works_in_its_variant():
    assert ax.apply(H.with_attribute, {})([1.0, 2.0]) == H.with_attribute([1.0, 2.0]) == 6.0
    assert ax.apply(H.with_attribute, {loop(H.with_attribute): HALF})([1.0, 2.0]) == 2.0


def test_an_output_aliasing_a_module_buffer_is_compared_as_it_was():
    """The exact output is the module's BUFFER, which the variant overwrites when it runs: the
    comparison must see the exact output as the exact program returned it."""
    inputs = [np.arange(1.0, 33.0) + k for k in range(4)]
    result = ax.evaluate(H.fills_buffer, {loop(H.fills_buffer): HALF}, inputs, repeats=1)
    exact = [H.fills_buffer(x).copy() for x in inputs]
    variant = ax.apply(H.fills_buffer, {loop(H.fills_buffer): HALF})
    truth = [np.linalg.norm(variant(x) - e) / np.linalg.norm(e) for x, e in zip(inputs, exact)]
    assert result.losses == pytest.approx(np.minimum(truth, 1.0))
    assert min(result.losses) > 0.3  # the real loss, not the 0 an alias would show


def test_a_hang_that_swallows_the_timeout_is_killed_and_counted():
    result = ax.evaluate(H.swallows_timeouts, {loop(H.swallows_timeouts): HALF}, XS[:2], timeout=0.2)
    assert [f.kind for f in result.failures] == ["timeout", "timeout"]
    assert "killed after its time limit" in result.failures[0].message
    assert result.speedup == 0.0 and np.all(result.losses == 1.0)


def test_a_hang_is_stopped_when_approxify_runs_in_a_worker_thread():
    found = {}

    def run():
        found["result"] = ax.evaluate(H.swallows_timeouts, {loop(H.swallows_timeouts): HALF}, XS[:1],
                                      timeout=0.2)

    worker = threading.Thread(target=run)
    worker.start()
    worker.join(60)
    assert not worker.is_alive()
    assert [f.kind for f in found["result"].failures] == ["timeout"]


@pytest.mark.parametrize(("kind", "failure", "words"), [
    ("base", "exception", "Hostile: a BaseException"),
    ("unprintable", "exception", "Unprintable: <its message could not be formatted>"),
    ("unreadable", "mismatch", "this output cannot become an array"),
    ("exit", "exception", "SystemExit: 3"),
    ("os_exit", "crash", "exit status 3"),
    ("segfault", "crash", "SIGSEGV"),
])
def test_whatever_a_variant_does_is_a_measured_failure(kind, failure, words):
    inputs = [(xs, kind) for xs in XS[:3]]
    result = ax.evaluate(H.raises_when_perforated, {loop(H.raises_when_perforated): HALF}, inputs,
                         repeats=1)
    assert [f.kind for f in result.failures] == [failure] * 3
    assert words in result.failures[0].message
    assert np.all(result.losses == 1.0)


def test_the_users_pending_alarm_survives():
    previous = signal.signal(signal.SIGALRM, lambda *a: None)
    signal.setitimer(signal.ITIMER_REAL, 50.0)
    try:
        inputs = [(xs, "alarm") for xs in XS[:2]]
        ax.evaluate(H.raises_when_perforated, {loop(H.raises_when_perforated): HALF}, inputs, repeats=1)
        left, _ = signal.getitimer(signal.ITIMER_REAL)
        assert 40.0 < left <= 50.0
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def test_the_exact_program_failing_in_its_sandbox_names_the_input_and_keeps_its_cause():
    with pytest.raises(ax.TargetFailed) as info:
        ax.evaluate(H.memoized, {}, [3, "x"])
    assert "input #1" in str(info.value) and isinstance(info.value.__cause__, TypeError)


def test_a_function_whose_file_changed_after_import_is_refused_until_reloaded(tmp_path, monkeypatch):
    import importlib
    import os

    path = tmp_path / "edited_kernel.py"
    path.write_text("def total(xs):\n    s = 0.0\n    for x in xs:\n        s += x\n    return s * 2.0\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    module = importlib.import_module("edited_kernel")
    assert ax.sites(module.total)
    path.write_text("def total(xs):\n    s = 0.0\n    for x in xs:\n        s += x\n    return s * 3.0\n")
    os.utime(path, (os.path.getmtime(path) + 5,) * 2)
    with pytest.raises(ax.UnsupportedTarget) as info:
        ax.apply(module.total, {})
    assert "the file changed after its module was imported" in str(info.value)
    assert "importlib.reload" in str(info.value)
    module = importlib.reload(module)
    assert ax.apply(module.total, {})([1.0, 2.0]) == 9.0


def test_isolation_none_runs_the_users_code_here_and_so_can_reach_its_objects():
    """What the default protects against, shown by turning it off: in this process, the exact
    program's own appends (it runs on every input) reach the module's list."""
    before = len(H.SEEN)
    try:
        ax.evaluate(H.appends, {}, XS[:2], repeats=1, isolation="none")
        assert len(H.SEEN) > before
    finally:
        del H.SEEN[before:]


def test_an_unknown_isolation_is_refused():
    with pytest.raises(ax.InvalidArgument, match="isolation= expects 'process'.*got 'thread'"):
        ax.evaluate(H.appends, {}, XS[:2], isolation="thread")


@pytest.mark.parametrize("kind", ["base", "unprintable", "unreadable", "exit"])
def test_in_this_process_too_whatever_a_variant_raises_is_a_measured_failure(kind):
    inputs = [(xs, kind) for xs in XS[:2]]
    result = ax.evaluate(H.raises_when_perforated, {loop(H.raises_when_perforated): HALF}, inputs,
                         repeats=1, isolation="none")
    assert len(result.failures) == 2 and np.all(result.losses == 1.0)
