"""The command line's errors: one line, ``approxify: error: <message>`` on stderr, no traceback
unless --debug; exit 2 when the command line is wrong, 1 when the work fails."""

import json
import subprocess
import sys
import textwrap

import pytest

import approxify as ax
from approxify import cli
from approxify.cli import main

import tuning_kernels as tk

TARGET = "tuning_kernels:smooth_mean"
INPUTS = "tuning_kernels:make_inputs"


@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    result = ax.approximate(tk.smooth_mean, tk.make_inputs(400), bound=0.05,
                            budget=ax.Budget(trials=4), progress=False, repeats=2)
    return result.save(tmp_path_factory.mktemp("cli") / "r.json")


@pytest.fixture
def module(tmp_path, monkeypatch, request):
    """Write a module into tmp_path and make it importable; returns its name."""
    def write(name, source):
        (tmp_path / f"{name}.py").write_text(textwrap.dedent(source))
        monkeypatch.syspath_prepend(str(tmp_path))
        request.addfinalizer(lambda: sys.modules.pop(name, None))
        return name

    return write


def failed(capsys, code, expected_code, *words):
    """The run exited with ``expected_code`` and printed one error line holding ``words``."""
    err = capsys.readouterr().err
    assert code == expected_code, err
    lines = [line for line in err.splitlines() if line.startswith("approxify: error: ")]
    assert len(lines) == 1, err
    for word in words:
        assert word in lines[0], err
    assert "Traceback" not in err
    return lines[0]


def never_tunes(monkeypatch):
    monkeypatch.setattr(cli, "approximate", lambda *a, **k: pytest.fail("tuning started"))


# -- the target and its inputs ----------------------------------------------------------------
def test_a_target_module_with_a_syntax_error(module, capsys):
    name = module("ax_cli_syntax", "def f(x):\n    return x +\n")
    failed(capsys, main(["sites", f"{name}:f"]), 1,
           f"target: importing module {name!r} failed: SyntaxError", "fix the module", "--debug")


def test_a_target_module_that_raises_when_imported(module, capsys):
    name = module("ax_cli_raises", "raise RuntimeError('no config file')\n")
    failed(capsys, main(["sites", f"{name}:f"]), 1, "failed: RuntimeError: no config file")


def test_a_target_module_whose_own_import_fails(module, capsys):
    name = module("ax_cli_dependency", "import ax_no_such_dependency\n")
    failed(capsys, main(["sites", f"{name}:f"]), 1,
           f"importing module {name!r} failed: ModuleNotFoundError", "ax_no_such_dependency")


def test_a_module_that_does_not_exist_is_a_usage_error(capsys):
    failed(capsys, main(["sites", "ax_no_such_module:f"]), 2,
           "target: cannot import module 'ax_no_such_module'", "check the name")


def test_a_name_the_module_does_not_have_is_a_usage_error(capsys):
    failed(capsys, main(["sites", "tuning_kernels:nope"]), 2, "module 'tuning_kernels' has no 'nope'")


def test_an_inputs_function_that_raises(module, capsys, monkeypatch):
    never_tunes(monkeypatch)
    name = module("ax_cli_inputs", "def make():\n    return 1 / 0\n")
    failed(capsys, main(["tune", TARGET, "--inputs", f"{name}:make", "--quiet"]), 1,
           f"--inputs {name}:make: calling it raised ZeroDivisionError: division by zero")


def test_a_target_that_fails_on_an_input(module, capsys):
    name = module("ax_cli_failing", """
        def f(xs):
            total = 0.0
            for x in xs:
                total += 1 / x
            return total

        def inputs():
            return [([1.0, 2.0],)] * 200 + [([0.0],)] * 200
    """)
    failed(capsys, main(["tune", f"{name}:f", "--inputs", f"{name}:inputs", "--trials", "1", "--quiet"]),
           1, "ZeroDivisionError")


def test_an_unknown_site_is_a_usage_error(capsys):
    failed(capsys, main(["sites", TARGET, "--select", "tuning_kernels.smooth_mean/for#7"]), 2,
           "unknown site 'tuning_kernels.smooth_mean/for#7'")


def test_a_bad_value_is_a_usage_error(capsys):
    failed(capsys, main(["tune", TARGET, "--inputs", INPUTS, "--bound", "2", "--quiet"]), 2, "bound=")


# -- argparse's own errors --------------------------------------------------------------------
@pytest.mark.parametrize("argv, words", [
    (["tune", TARGET], "tune: the following arguments are required: --inputs"),
    (["tune", TARGET, "--inputs", INPUTS, "--bound", "tight"], "tune: argument --bound: invalid float value: 'tight'"),
    (["frobnicate"], "argument command: invalid choice: 'frobnicate'"),
    (["show"], "show: the following arguments are required: result"),
])
def test_argparse_errors_have_the_same_form_and_exit_2(capsys, argv, words):
    with pytest.raises(SystemExit) as caught:
        main(argv)
    failed(capsys, caught.value.code, 2, words)


# -- --out is checked before the work ---------------------------------------------------------
def test_tune_checks_out_before_tuning(tmp_path, capsys, monkeypatch):
    never_tunes(monkeypatch)
    out = tmp_path / "no_such_folder" / "r.json"
    failed(capsys, main(["tune", TARGET, "--inputs", INPUTS, "--quiet", "--out", str(out)]), 1,
           f"--out {str(out)!r}: the folder", "does not exist")


def test_tune_out_that_is_a_folder(tmp_path, capsys, monkeypatch):
    never_tunes(monkeypatch)
    failed(capsys, main(["tune", TARGET, "--inputs", INPUTS, "--quiet", "--out", str(tmp_path)]), 1,
           "is a folder; name a file to write")


def test_tune_out_under_a_file(tmp_path, capsys, monkeypatch):
    never_tunes(monkeypatch)
    (tmp_path / "plain").write_text("")
    failed(capsys, main(["tune", TARGET, "--inputs", INPUTS, "--quiet", "--out",
                         str(tmp_path / "plain" / "r.json")]), 1, "does not exist")


def test_the_out_check_leaves_no_file_behind(tmp_path, capsys):
    out = tmp_path / "r.json"
    failed(capsys, main(["tune", TARGET, "--inputs", INPUTS, "--bound", "2", "--quiet", "--out", str(out)]), 2)
    assert not out.exists()


def test_export_and_report_check_out_first(saved, tmp_path, capsys):
    missing = str(tmp_path / "none" / "x")
    failed(capsys, main(["export", str(saved), "--out", missing + ".py"]), 1, "--out", "does not exist")
    failed(capsys, main(["report", str(saved), "--out", missing + ".html"]), 1, "--out", "does not exist")
    failed(capsys, main(["report", str(saved), "--out", str(tmp_path / "r.html"),
                         "--data", missing + ".json"]), 1, "--data", "does not exist")
    assert not (tmp_path / "r.html").exists()


# -- damaged result files ---------------------------------------------------------------------
DAMAGED = {
    "missing": (None, "does not exist"),
    "not UTF-8": (b"\xff\xfe\x00", "is not UTF-8 text"),
    "truncated": (b'{"format": "approxify.result/1", "tar', "as a file cut short does"),
    "not JSON": (b"hello", "is not valid JSON"),
    "wrong format": (b'{"format": "something/2"}', "expected format 'approxify.result/1'"),
    "missing key": (b'{"format": "approxify.result/1"}', "the key 'target' is missing"),
}


@pytest.mark.parametrize("command", ["show", "export", "report"])
@pytest.mark.parametrize("content, words", DAMAGED.values(), ids=DAMAGED.keys())
def test_a_damaged_result_file(tmp_path, capsys, command, content, words):
    path = tmp_path / "r.json"
    if content is not None:
        path.write_bytes(content)
    failed(capsys, main([command, str(path)]), 1, f"result file {str(path)!r}", words)


def test_a_wrongly_typed_field_is_named(saved, tmp_path, capsys):
    data = json.loads(saved.read_text())
    data["settings"]["confidence"] = "high"
    path = tmp_path / "r.json"
    path.write_text(json.dumps(data))
    failed(capsys, main(["show", str(path)]), 1, "settings.confidence: expected a number, got text 'high'")


# -- a changed target -------------------------------------------------------------------------
def test_export_of_a_changed_target_is_refused_and_allow_changed_builds(saved, tmp_path, capsys):
    data = json.loads(saved.read_text())
    key = next(iter(data["fingerprint"]["functions"]))
    data["fingerprint"]["functions"][key] = "0" * 64  # as if the code had changed since
    path = tmp_path / "r.json"
    path.write_text(json.dumps(data))
    failed(capsys, main(["export", str(path)]), 1, "measured on another version", "--allow-changed")
    assert main(["export", str(path), "--allow-changed"]) == 0
    assert "def smooth_mean" in capsys.readouterr().out


def test_show_of_a_good_result_still_works(saved, capsys):
    assert main(["show", str(saved)]) == 0
    captured = capsys.readouterr()
    assert "best:" in captured.out and captured.err == ""


# -- --debug, other failures ------------------------------------------------------------------
def test_debug_prints_the_traceback_and_the_same_line(module, capsys):
    name = module("ax_cli_debug", "def f(x):\n    return x +\n")
    code = main(["--debug", "sites", f"{name}:f"])
    err = capsys.readouterr().err
    assert code == 1 and "Traceback (most recent call last)" in err and "SyntaxError" in err
    assert err.rstrip().splitlines()[-1].startswith("approxify: error: target: importing module")


def test_an_unexpected_error_is_one_line_with_its_type(saved, capsys, monkeypatch):
    def broken(*args, **kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr(cli, "load", broken)
    failed(capsys, main(["show", str(saved)]), 1, "RuntimeError: boom", "approxify --debug")


def test_an_oserror_names_the_file(saved, capsys, monkeypatch):
    def denied(*args, **kwargs):
        raise PermissionError(13, "Permission denied", "/locked/r.json")

    monkeypatch.setattr(cli, "load", denied)
    failed(capsys, main(["show", str(saved)]), 1, "'/locked/r.json': Permission denied")


def test_report_without_matplotlib_says_what_to_install(saved, tmp_path, capsys, monkeypatch):
    monkeypatch.setitem(sys.modules, "matplotlib.figure", None)
    failed(capsys, main(["report", str(saved), "--out", str(tmp_path / "r.html")]), 1,
           "pip install 'approxify[report]'")


def test_the_console_script_prints_no_traceback(tmp_path):
    run = subprocess.run([sys.executable, "-m", "approxify.cli", "show", str(tmp_path / "none.json")],
                         capture_output=True, text=True, timeout=120)
    assert run.returncode == 1 and run.stdout == ""
    assert run.stderr.startswith("approxify: error: result file") and "Traceback" not in run.stderr
