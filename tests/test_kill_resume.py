"""A tuning killed with SIGKILL (no chance to clean up) loses nothing it had finished: run
again with the same storage, it measures nothing twice and completes the budget."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import optuna
import pytest

import approxify as ax
import tuning_kernels as tk

HERE = Path(__file__).resolve().parent
CALL = ("ax.approximate(tk.smooth_mean, tk.make_inputs(360, size=300), quality=tk.slow_rel_l2, "
        "bound=0.05, budget=ax.Budget(trials=10), storage={storage!r}, seed=1, progress=False, "
        "repeats=1)")


def sensitivity_entries(storage: str) -> dict:
    names = optuna.study.get_all_study_names(storage)
    if not names:
        return {}
    study = optuna.load_study(study_name=names[0], storage=storage)
    return {k: v for k, v in study.user_attrs.items() if k.startswith("sensitivity:")}


@pytest.mark.slow
def test_a_tuning_killed_with_sigkill_resumes_without_measuring_again(tmp_path):
    storage = f"sqlite:///{tmp_path / 'study.db'}"
    script = f"import approxify as ax, tuning_kernels as tk\n{CALL.format(storage=storage)}\n"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(HERE), os.environ.get("PYTHONPATH", "")])}
    child = subprocess.Popen([sys.executable, "-c", script], env=env)
    try:
        deadline = time.monotonic() + 120
        while len(sensitivity_entries(storage)) < 4:  # killed in the middle of the sensitivity pass
            assert child.poll() is None, "the tuning ended before it could be killed"
            assert time.monotonic() < deadline
            time.sleep(0.2)
        child.send_signal(signal.SIGKILL)
        child.wait(30)
    finally:
        if child.poll() is None:
            child.kill()
    finished = sensitivity_entries(storage)
    assert child.returncode == -signal.SIGKILL and len(finished) >= 4
    resumed = eval(CALL.format(storage=storage), {"ax": ax, "tk": tk})  # noqa: S307 - the same call
    assert resumed.stats["sensitivity_measured"] == len(resumed.sensitivity) - len(finished)
    assert set(finished) <= set(sensitivity_entries(storage))  # nothing finished was lost
    assert {k: v["mean_loss"] for k, v in finished.items()} == {
        k: v["mean_loss"] for k, v in sensitivity_entries(storage).items() if k in finished}
    assert resumed.stats["trials"] == 10
