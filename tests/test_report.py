"""The HTML report: its data first (what a reader is told), then the page's structure."""

import json
import re

import pytest

import approxify as ax
from approxify.cli import main as cli

import tuning_kernels as tk

SITE = "tuning_kernels.smooth_mean/for#0"


@pytest.fixture(scope="module")
def result():
    return ax.approximate(tk.smooth_mean, tk.make_inputs(400), quality="rel_l2", bound=0.05,
                          budget=ax.Budget(trials=6), seed=0, progress=False, repeats=3)


@pytest.fixture(scope="module")
def data(result):
    return result.report_data()


def test_report_data_is_plain_json(data):
    assert json.loads(json.dumps(data)) == data  # no objects, no NaN strings needed
    assert data["format"] == "approxify.report/1" and data["target"] == "tuning_kernels.smooth_mean"
    assert data["settings"]["bound"] == 0.05 and data["settings"]["quality"] == "rel_l2"


def test_the_tradeoff_has_every_config_once_and_marks_the_certified_best(result, data):
    points = data["tradeoff"]
    configs = [p["config"] for p in points]
    assert len(configs) == len(set(configs))  # a front config is not repeated as a search point
    assert configs.count("exact") == 1
    assert {p.describe() for p in result.points if not p.is_exact} | {"exact"} <= set(configs)
    front = [p for p in points if p["front"]]
    assert [p["config"] for p in front] == [c.describe() for c in result.pareto]
    for p, c in zip(front, result.pareto):  # held-out figures and the certificate's upper bound
        assert p["heldout_loss"] == c.heldout["mean_loss"] and p["upper"] == c.certificate.selected_upper  # valid after selection
        assert p["heldout_loss"] <= p["upper"]
    best = [p for p in points if p["best"]]
    assert len(best) == 1 and best[0]["config"] == result.best.describe() and best[0]["certified"]


def test_the_certificate_and_reliability_are_the_best_configs(result, data):
    assert data["certificate_text"] == result.best.certificate.statement()
    assert data["certificate_text"].startswith("With 95% confidence the mean loss")
    held = result.best.heldout
    assert data["reliability"] == {
        "n": held["n"], "identical": held["identical"], "identical_share": held["identical"] / held["n"],
        "failures": 0, "failure_kinds": [], "max_loss": held["max_loss"], "p95_loss": held["p95_loss"],
        "unit": "inputs",
    }


def test_sensitivity_lists_each_site_and_setting_alone(result, data):
    rows = data["sensitivity"]
    assert len(rows) == len(result.sensitivity)
    assert {(r["site"], r["setting"]) for r in rows} == {(s["site"], s["label"]) for s in result.sensitivity}
    dropped = [r for r in rows if not r["kept"]]
    assert all(r["reason"] for r in dropped)


def test_the_change_of_a_function_is_a_source_diff(result, data):
    change = data["change"]
    assert change["kind"] == "diff"
    lines = change["text"].splitlines()
    assert lines[0] == "--- original" and lines[1] == "+++ approximated"
    assert any(line.startswith("-") and "for " in line for line in lines[2:])  # the loop rewritten
    assert any(line.startswith("+") for line in lines[2:])


def test_a_loaded_result_reports_the_same(result, data, tmp_path):
    loaded = ax.load(result.save(tmp_path / "r.json"))
    assert loaded.report_data() == data


def test_the_page_is_self_contained_html_with_its_plot(result, data, tmp_path):
    path = result.report(tmp_path / "report.html")
    page = path.read_text()
    assert page.startswith("<!DOCTYPE html>") and page.rstrip().endswith("</html>")
    assert page.count("<svg") == 1 and "</svg>" in page
    assert not re.search(r"<script|<link|<img|<iframe", page)  # nothing loaded from elsewhere
    for text in ("Trade-off", "Reliability and failures", "Each site alone", "The change",
                 "bound 0.05", "speedup (x)"):
        assert text in page
    assert data["certificate_text"].split(" (")[0] in page
    assert page.count("<tr>") >= 1 + len(data["sensitivity"])


def test_report_wants_an_html_path(result, tmp_path):
    with pytest.raises(ax.InvalidArgument, match=r"report\(path\) writes HTML; got .*r\.json.*ending in \.html"):
        result.report(tmp_path / "r.json")


def test_the_report_command_writes_the_page_and_its_data(result, tmp_path, capsys):
    saved = result.save(tmp_path / "r.json")
    assert cli(["report", str(saved), "--data", str(tmp_path / "d.json")]) == 0
    assert (tmp_path / "r.html").read_text().startswith("<!DOCTYPE html>")
    assert json.loads((tmp_path / "d.json").read_text())["target"] == "tuning_kernels.smooth_mean"
    assert f"written to {tmp_path / 'r.html'}" in capsys.readouterr().out


def test_an_exact_best_says_nothing_changes(tmp_path):
    r = ax.approximate(tk.smooth_mean, tk.make_inputs(400), quality="mismatch", bound=0.02,
                       budget=ax.Budget(trials=2), seed=0, progress=False, repeats=1)
    data = r.report_data()
    assert data["best"]["exact"] and data["change"] == {"kind": "none", "text": "The exact program: nothing changes."}
    assert data["reliability"]["n"] == 0
    assert "exact program" in data["certificate_text"]
    page = r.report(tmp_path / "exact.html").read_text()
    assert "No held-out figures" in page and "<svg" in page


def int8_classifier():
    """The small classifier of test_torch_target, tuned with one choice: its middle layer in
    int8 (a second); bytes are deterministic, so any certified gain counts (min_gain=0).
    Returns (model, result)."""
    pytest.importorskip("torch")
    from test_torch_target import trained_classifier

    model, batches = trained_classifier()
    return model, ax.approximate(model, batches, quality="rel_l2", bound=0.5, cost="bytes",
                                 families=["precision"], select=["2/precision"],
                                 budget=ax.Budget(trials=0), progress=False, min_gain=0.0)


def test_the_change_of_a_model_is_a_layer_table():
    _, result = int8_classifier()
    assert result.best.config == {"2/precision": ax.Precision("int8")}
    change = result.report_data()["change"]
    assert change["kind"] == "layers"
    [row] = change["rows"]
    assert row["site"] == "2/precision" and row["setting"] == "int8"
    assert row["before"] == "Linear(in_features=64, out_features=64, bias=True)"
    assert row["after"].startswith("DynamicQuantizedLinear(in_features=64, out_features=64")
    assert row["bytes_before"] == (64 * 64 + 64) * 4
    assert row["bytes_after"] < row["bytes_before"] / 3


def test_without_matplotlib_the_report_says_what_to_install(result, tmp_path, monkeypatch):
    import sys

    monkeypatch.setitem(sys.modules, "matplotlib.figure", None)  # importing it now fails
    with pytest.raises(ImportError, match=r"matplotlib, which is not installed.*pip install 'approxify\[report\]'"):
        result.report(tmp_path / "r.html")
    assert not (tmp_path / "r.html").exists()


# -- escaping: nothing that comes from data is markup ------------------------------------------
SCRIPT = "<script>alert(1)</script>"


def _hostile(data):
    """The report data with every text field a person could edit (or a target could name) set
    to a script."""
    hostile = json.loads(json.dumps(data))
    hostile["target"] = SCRIPT
    hostile["settings"].update(quality=SCRIPT, cost=SCRIPT, loss_cap=SCRIPT, tuning=SCRIPT, heldout=SCRIPT)
    hostile["stats"].update(evaluations=SCRIPT, wall_seconds=SCRIPT)
    hostile["best"].update(config=SCRIPT, speedup=SCRIPT, mean_loss=SCRIPT)
    hostile["certificate_text"] = SCRIPT
    hostile["notes"] = [SCRIPT]
    hostile["environment"] = {SCRIPT: SCRIPT}
    hostile["sensitivity"] = [{"site": SCRIPT, "setting": SCRIPT, "speedup": 1.0, "mean_loss": SCRIPT,
                               "failures": SCRIPT, "kept": False, "reason": SCRIPT}]
    hostile["effects"] = [{"sites": [SCRIPT], "setting": SCRIPT, "with": {}, "alone": {"speedup": SCRIPT}}]
    hostile["guards"] = {SCRIPT: {"values": SCRIPT, "fallbacks": SCRIPT}}
    hostile["reliability"].update(failure_kinds=[SCRIPT], identical=SCRIPT, max_loss=SCRIPT)
    hostile["change"] = {"kind": "diff", "text": f"--- original\n+++ approximated\n+{SCRIPT}"}
    hostile["changed"], hostile["provenance"] = [SCRIPT], SCRIPT
    return hostile


def test_every_field_from_data_is_escaped(data):
    from approxify.report.html import render

    page = render(_hostile(data))
    assert "<script" not in page.lower()
    assert page.count("&lt;script&gt;alert(1)&lt;/script&gt;") >= 20  # shown as text, everywhere


def test_the_counts_the_issue_named_are_escaped(data):
    from approxify.report.html import render

    hostile = json.loads(json.dumps(data))
    hostile["settings"].update(tuning=SCRIPT, heldout="<b>200</b>")
    hostile["stats"]["evaluations"] = "<img src=x onerror=alert(1)>"
    page = render(hostile)
    assert "&lt;script&gt;alert(1)&lt;/script&gt; tuning and &lt;b&gt;200&lt;/b&gt; held-out inputs" in page
    assert "&lt;img src=x onerror=alert(1)&gt; evaluations" in page and "<img" not in page


def test_a_layer_table_escapes_module_text(data):
    from approxify.report.html import render

    hostile = json.loads(json.dumps(data))
    hostile["change"] = {"kind": "layers", "rows": [{"site": SCRIPT, "setting": SCRIPT, "before": SCRIPT,
                                                     "after": SCRIPT, "bytes_before": 10, "bytes_after": SCRIPT}]}
    page = render(hostile)
    assert "<script" not in page and page.count("&lt;script&gt;") == 5 and "<td class=num>10</td>" in page


def test_a_result_whose_fields_hold_scripts_writes_a_safe_page(result, tmp_path):
    loaded = ax.load(result.save(tmp_path / "r.json"))
    loaded.settings.update(tuning=SCRIPT, heldout=SCRIPT, quality=SCRIPT)
    loaded.stats["evaluations"] = SCRIPT
    loaded.notes.append(SCRIPT)
    loaded.environment["python"] = SCRIPT
    page = loaded.report(tmp_path / "r.html").read_text()
    assert "<script" not in page and page.count("&lt;script&gt;") >= 6


def test_numbers_are_still_formatted(data, result):
    from approxify.report.html import render

    page = render(data)
    s = data["settings"]
    assert "bound <b>0.05</b> at 95% confidence" in page
    assert f"{s['tuning']} tuning and {s['heldout']} held-out inputs; {data['stats']['evaluations']} evaluations" in page
    best = result.best
    assert (f"<b>Speedup</b> {best.speedup:.2f}x [{best.speedup_low:.2f}, {best.speedup_high:.2f}] "
            "on held-out inputs (a 90% interval") in page
