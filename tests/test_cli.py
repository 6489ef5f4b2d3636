"""The command line, run in-process (same code path as the console script)."""

import json

import pytest

from approxify.cli import main

TARGET = "tuning_kernels:smooth_mean"


def test_sites_lists_ids(capsys):
    assert main(["sites", TARGET]) == 0
    out = capsys.readouterr().out
    row = next(line for line in out.splitlines() if line.startswith("tuning_kernels.smooth_mean/for#0"))
    assert row.split()[1] == "perforate"
    assert "calls not followed (1):" in out and "len(...)  builtin" in out


def test_exclude_leaves_sites_out_of_sites_and_tune(capsys):
    assert main(["sites", TARGET, "--exclude", "*/for#0"]) == 0
    assert "smooth_mean/for#0" not in capsys.readouterr().out
    assert main(["tune", TARGET, "--inputs", "tuning_kernels:make_inputs", "--quiet", "--exclude", "*/for#0"]) == 2
    assert "has no approximation sites left by exclude=['*/for#0']" in capsys.readouterr().err


def test_max_bytes_is_for_a_model(capsys):
    assert main(["tune", TARGET, "--inputs", "tuning_kernels:make_inputs", "--max-bytes", "1000", "--quiet"]) == 2
    assert "is a Python function; drop max_bytes=" in capsys.readouterr().err


def test_tune_show_export(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    out = tmp_path / "r.json"
    code = main(["tune", TARGET, "--inputs", "tuning_kernels:make_inputs", "--bound", "0.05",
                 "--trials", "3", "--quiet", "--out", str(out),
                 "--storage", f"sqlite:///{tmp_path / 's.db'}"])
    assert code == 0
    assert json.loads(out.read_text())["format"] == "approxify.result/1"
    assert "approxify: tuning_kernels.smooth_mean" in capsys.readouterr().out
    assert main(["show", str(out)]) == 0
    assert "best:" in capsys.readouterr().out
    exported = tmp_path / "fast.py"
    assert main(["export", str(out), "--out", str(exported)]) == 0
    namespace = {}
    exec(compile(exported.read_text(), str(exported), "exec"), namespace)  # standalone module
    assert callable(namespace["smooth_mean"])


def test_errors_are_one_line_with_exit_code_2(capsys):
    assert main(["sites", "tuning_kernels"]) == 2
    assert "must look like module:name" in capsys.readouterr().err
    assert main(["sites", "no_such_module_xyz:f"]) == 2
    assert "cannot import module" in capsys.readouterr().err
    assert main(["tune", TARGET, "--inputs", "tuning_kernels:make_inputs", "--bound", "2",
                 "--quiet"]) == 2
    assert "bound=" in capsys.readouterr().err


def test_unknown_command_is_rejected():
    with pytest.raises(SystemExit):
        main(["frobnicate"])


def test_sites_with_inputs_profiles_precision_sites(capsys):
    code = main(["sites", "precision_kernels:plain_assign", "--inputs",
                 "precision_kernels:example_inputs", "--family", "precision"])
    assert code == 0
    out = capsys.readouterr().out
    assert any(line.split()[:2] == ["precision_kernels.plain_assign/var:y", "precision"]
               for line in out.splitlines())


def test_inputs_function_needing_arguments_is_a_clear_error(capsys):
    code = main(["sites", "precision_kernels:plain_assign", "--inputs",
                 "precision_kernels:plain_assign"])
    assert code == 2 and "needs arguments (x)" in capsys.readouterr().err
