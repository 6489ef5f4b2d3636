"""A result says what it measured, and claims nothing else: its fingerprint of the target's code
or weights, the refusal to build on another version (allow_changed=True builds, uncertified),
and one clear ResultFileError for every way a saved file can be missing or damaged."""

import ast
import hashlib
import importlib
import json
import sys
import textwrap

import pytest

import approxify as ax
from approxify._target import Target
from approxify.targets.fingerprint import changes, fingerprint, weights_digest

import tuning_kernels as tk

BASE = "trust_base"
SOURCE = textwrap.dedent('''
    def square(x):
        return x * x


    def smooth_mean(xs):
        total = 0.0
        for x in xs:
            total += square(x)
        return total / len(xs)
''')


def _import_fresh(name):
    sys.modules.pop(name, None)
    return importlib.import_module(name)


@pytest.fixture(scope="module")
def base(tmp_path_factory):
    """A result tuned on ``trust_base.smooth_mean`` (a module of its own, so tests can change
    copies of it), as the saved JSON text, and the fresh result itself."""
    folder = tmp_path_factory.mktemp("trust")
    (folder / f"{BASE}.py").write_text(SOURCE)
    sys.path.insert(0, str(folder))
    try:
        module = _import_fresh(BASE)
        result = ax.approximate(module.smooth_mean, tk.make_inputs(400), bound=0.05,
                                budget=ax.Budget(trials=4), progress=False, repeats=2)
        yield {"folder": folder, "module": module, "result": result,
               "text": json.dumps(result.to_dict())}
    finally:
        sys.path.remove(str(folder))
        sys.modules.pop(BASE, None)


@pytest.fixture
def clone(base, tmp_path, monkeypatch, request):
    """A copy of the base module under another name, with the base result saved for it: what
    a user has on disk after tuning, ready to be changed. Returns (result path, module)."""
    counter = iter(range(1000))

    def make(source=SOURCE, edit=None):
        name = f"trust_clone_{tmp_path.name.replace('-', '_')}_{next(counter)}"
        (tmp_path / f"{name}.py").write_text(source)
        monkeypatch.syspath_prepend(str(tmp_path))
        data = json.loads(base["text"].replace(BASE, name))
        if edit:
            edit(data)
        path = tmp_path / f"{name}.json"
        path.write_text(json.dumps(data))
        request.addfinalizer(lambda: sys.modules.pop(name, None))  # the clone leaves with the test
        return path, _import_fresh(name)

    return make


def _rewrite(module, source):
    path = module.__file__
    with open(path, "w") as handle:
        handle.write(source)
    return importlib.reload(module)


CHANGED = SOURCE.replace("total += square(x)", "total += square(x) + 0.0")


# -- the fingerprint ------------------------------------------------------------------------
def test_a_fresh_result_records_the_source_of_every_function_it_lifted(base):
    recorded = base["result"].fingerprint
    program = Target(base["module"].smooth_mean).program
    assert recorded["algorithm"] == "sha256" and recorded["reference"] == f"{BASE}:smooth_mean"
    assert set(recorded["functions"]) == {f"{BASE}.smooth_mean", f"{BASE}.square"}
    for key, lifted in program.functions.items():
        assert recorded["functions"][key] == hashlib.sha256(ast.unparse(lifted.tree).encode()).hexdigest()


def test_the_fingerprint_is_saved_and_read_back(base, tmp_path):
    path = base["result"].save(tmp_path / "r.json")
    assert json.loads(path.read_text())["fingerprint"] == base["result"].fingerprint
    assert ax.load(path).fingerprint == base["result"].fingerprint


def test_the_same_code_builds_the_same_variant(clone):
    path, module = clone()
    loaded = ax.load(path)
    xs = tk.make_inputs(1)[0][0]
    assert loaded.program()(xs) == ax.apply(module.smooth_mean, loaded.best.config)(xs)
    assert loaded.changed == [] and loaded.provenance() is None


def test_comments_and_layout_are_not_a_change(clone):
    path, module = clone()
    _rewrite(module, SOURCE.replace("total = 0.0", "total = 0.0  # a comment\n\n"))
    assert callable(ax.load(path).program())


def test_fingerprints_do_not_depend_on_a_targets_module_name(clone, base):
    path, module = clone()
    recorded = json.loads(path.read_text())["fingerprint"]["functions"]
    assert sorted(recorded.values()) == sorted(base["result"].fingerprint["functions"].values())


# -- a changed target is refused ------------------------------------------------------------
def test_a_changed_function_is_refused_naming_the_file_the_function_and_the_fix(clone):
    path, module = clone()
    _rewrite(module, CHANGED)
    with pytest.raises(ax.TargetChanged) as caught:
        ax.load(path).program()
    message = str(caught.value)
    assert str(path) in message
    assert f"function {module.__name__}.smooth_mean changed" in message
    assert f"{module.__name__}.square" not in message  # the helper is what it was
    assert "allow_changed=True" in message and "certificate would not apply" in message


def test_a_changed_helper_is_named(clone):
    path, module = clone()
    _rewrite(module, SOURCE.replace("return x * x", "return x * x * 1.0"))
    with pytest.raises(ax.TargetChanged, match=rf"function {module.__name__}\.square changed"):
        ax.load(path).program()


def test_a_newly_called_function_is_named(clone):
    path, module = clone()
    _rewrite(module, SOURCE.replace("total += square(x)", "total += cube(x) / x")
             + "\n\ndef cube(x):\n    return x * x * x\n")
    with pytest.raises(ax.TargetChanged) as caught:
        ax.load(path).program()
    assert f"function {module.__name__}.cube is new" in str(caught.value)
    assert f"function {module.__name__}.square is no longer reached" in str(caught.value)


def test_source_is_refused_like_program(clone):
    path, module = clone()
    _rewrite(module, CHANGED)
    with pytest.raises(ax.TargetChanged, match="changed"):
        ax.load(path).source()


def test_a_fresh_result_refuses_once_its_code_changes(base):
    module, result = base["module"], base["result"]
    try:
        _rewrite(module, CHANGED)
        with pytest.raises(ax.TargetChanged, match=r"this result was measured on another version"):
            result.program()
    finally:
        _rewrite(module, SOURCE)
    assert callable(result.program())  # and builds again on the code it measured


def test_an_explicit_target_of_other_code_is_refused(clone):
    path, _ = clone()
    with pytest.raises(ax.TargetChanged) as caught:
        ax.load(path, target=tk.smooth_mean).program()
    assert "the target is tuning_kernels:smooth_mean, but the result measured" in str(caught.value)


def test_an_edited_reference_is_refused_before_anything_is_imported(clone, tmp_path):
    (tmp_path / "trust_canary.py").write_text("import sys\nsys.canary_ran = True\ndef fn(xs):\n    return 0\n")

    def point_elsewhere(data):
        data["reference"] = "trust_canary:fn"

    path, _ = clone(edit=point_elsewhere)
    with pytest.raises(ax.TargetChanged, match=r"the result names trust_canary:fn as its target, but it measured"):
        ax.load(path).program()
    assert "trust_canary" not in sys.modules and not hasattr(sys, "canary_ran")


def test_a_reference_edited_to_a_library_function_is_refused(clone):
    def point_at_subprocess(data):
        data["reference"] = "subprocess:getoutput"

    path, _ = clone(edit=point_at_subprocess)
    with pytest.raises(ax.TargetChanged, match=r"subprocess:getoutput.*allow_changed=True"):
        ax.load(path).program()


def test_a_scripts_function_is_the_same_when_the_script_is_imported_by_name(clone):
    def as_if_tuned_in_a_script(data):  # python trust_clone_....py: module __main__
        for where in (data, data["fingerprint"]):
            where["reference"] = "__main__:smooth_mean"

    path, module = clone(edit=as_if_tuned_in_a_script)
    with pytest.raises(ax.InvalidArgumentType, match=r"pass it explicitly: ax.load\(path, target=fn\)"):
        ax.load(path).program()
    assert callable(ax.load(path, target=module.smooth_mean).program())
    _rewrite(module, CHANGED)
    with pytest.raises(ax.TargetChanged, match=rf"function {module.__name__}\.smooth_mean changed"):
        ax.load(path, target=module.smooth_mean).program()


def test_an_edited_fingerprint_is_a_change(clone):
    def forge(data):
        key = next(iter(data["fingerprint"]["functions"]))
        data["fingerprint"]["functions"][key] = "0" * 64

    path, module = clone(edit=forge)
    with pytest.raises(ax.TargetChanged, match="changed"):
        ax.load(path).program()


# -- allow_changed=True builds, uncertified --------------------------------------------------
def test_allow_changed_builds_and_the_summary_says_the_certificate_does_not_apply(clone):
    path, module = clone()
    _rewrite(module, CHANGED)
    loaded = ax.load(path, allow_changed=True)
    assert loaded.changed == [f"function {module.__name__}.smooth_mean changed"]
    assert callable(loaded.program()) and "def smooth_mean" in loaded.source()
    first = loaded.summary().splitlines()[0]
    assert first.startswith("WARNING: The code changed since this result was certified")
    assert "the certificate does not apply" in first


def test_program_allow_changed_marks_a_loaded_result(clone):
    path, module = clone()
    _rewrite(module, CHANGED)
    loaded = ax.load(path)
    assert "WARNING" not in loaded.summary()  # nothing built yet: nothing compared
    assert callable(loaded.program(allow_changed=True))
    assert loaded.summary().startswith("WARNING: The code changed")


def test_the_report_of_a_changed_target_says_it_plainly(clone, tmp_path):
    path, module = clone()
    _rewrite(module, CHANGED)
    loaded = ax.load(path, allow_changed=True)
    data = loaded.report_data()
    assert data["changed"] == loaded.changed and "certificate does not apply" in data["provenance"]
    assert data["change"]["kind"] == "diff"
    page = loaded.report(tmp_path / "r.html").read_text()
    assert "Not certified for this version." in page and "The code changed since this result" in page


def test_a_report_without_allow_changed_shows_no_change_and_warns(clone):
    path, module = clone()
    _rewrite(module, CHANGED)
    data = ax.load(path).report_data()
    assert data["change"]["kind"] == "unavailable" and "measured on another version" in data["change"]["text"]
    assert data["changed"] and "certificate does not apply" in data["provenance"]


# -- results saved before fingerprints ------------------------------------------------------
def test_a_result_saved_before_fingerprints_still_loads_and_builds(clone):
    path, module = clone(edit=lambda data: data.pop("fingerprint"))
    loaded = ax.load(path)
    assert loaded.fingerprint == {} and callable(loaded.program())
    summary = loaded.summary()
    assert summary.splitlines()[-1].startswith("note: This result was saved before approxify recorded fingerprints")
    assert "WARNING" not in summary


# -- models ----------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def tuned_model():
    from test_report import int8_classifier

    return int8_classifier()


def test_a_models_fingerprint_is_its_structure_and_weights(tuned_model):
    import torch

    model, result = tuned_model
    recorded = result.fingerprint
    assert recorded["reference"] == "torch.nn.modules.container:Sequential"
    assert recorded["structure"] == hashlib.sha256(repr(model).encode()).hexdigest()
    assert recorded["weights"] == weights_digest(model) and "functions" not in recorded
    rebuilt = torch.nn.Sequential(torch.nn.Linear(16, 64), torch.nn.ReLU(), torch.nn.Linear(64, 64),
                                  torch.nn.ReLU(), torch.nn.Linear(64, 5))
    assert weights_digest(rebuilt) != weights_digest(model)
    rebuilt.load_state_dict(model.state_dict())  # the same weights, in another object
    assert fingerprint(Target(rebuilt).program) == recorded


def test_training_mode_is_not_a_change_but_one_weight_is(tuned_model):
    import copy

    import torch

    model, _ = tuned_model
    other = copy.deepcopy(model).train()
    assert fingerprint(Target(other).program) == fingerprint(Target(model).program)
    with torch.no_grad():
        other[0].weight[3, 5] += 1e-6
    assert weights_digest(other) != weights_digest(model)


def test_a_model_whose_weight_changed_after_saving_is_refused(tuned_model, tmp_path):
    import copy

    import torch

    model, result = tuned_model
    path = result.save(tmp_path / "m.json")
    assert isinstance(ax.load(path, target=model).program(), torch.nn.Module)
    edited = copy.deepcopy(model)
    with torch.no_grad():
        edited[2].weight[0, 0] *= 1.5  # in place: the same structure
    with pytest.raises(ax.TargetChanged) as caught:
        ax.load(path, target=edited).program()
    message = str(caught.value)
    assert "the model's weights are not those measured" in message and "structure" not in message
    assert str(path) in message and "allow_changed=True" in message
    loaded = ax.load(path, target=edited, allow_changed=True)
    assert isinstance(loaded.program(), torch.nn.Module)
    assert loaded.summary().startswith("WARNING: The model changed since this result was certified")


def test_a_model_of_another_structure_is_refused(tuned_model, tmp_path):
    import torch

    model, result = tuned_model
    path = result.save(tmp_path / "m.json")
    wider = torch.nn.Sequential(torch.nn.Linear(16, 64), torch.nn.ReLU(), torch.nn.Linear(64, 64),
                                torch.nn.ReLU(), torch.nn.Linear(64, 6))
    with pytest.raises(ax.TargetChanged, match=r"the model's structure \(its layers\) is not the one measured"):
        ax.load(path, target=wider).program()


def test_changes_compares_only_what_was_recorded():
    recorded = {"algorithm": "sha256", "reference": "m:f", "functions": {"m.f": "a"}}
    assert changes(recorded, {**recorded, "structure": "x"}) == []
    assert changes({**recorded, "reference": "__main__:f"}, recorded) == []  # a script, imported
    assert changes({**recorded, "reference": "__main__:g"}, recorded) == [
        "the target is m:f, but the result measured __main__:g"]
    assert changes(recorded, {**recorded, "functions": {"m.f": "b"}}) == ["function m.f changed"]
    assert "does not compute" in changes({**recorded, "algorithm": "md5"}, recorded)[0]


# -- damaged result files ---------------------------------------------------------------------
@pytest.fixture
def saved(base, tmp_path):
    """Write the base result with one edit of its data (or its raw text) to a file."""
    def write(edit=None, *, text=None, raw=None):
        path = tmp_path / "damaged.json"
        if raw is not None:
            path.write_bytes(raw)
            return path
        data = json.loads(base["text"])
        if edit:
            edit(data)
        path.write_text(text if text is not None else json.dumps(data))
        return path

    return write


def _load_error(path):
    with pytest.raises(ax.ResultFileError) as caught:
        ax.load(path)
    assert type(caught.value) is ax.ResultFileError
    error = caught.value  # no raw error chained behind it, for a traceback to show
    assert error.__cause__ is None and (error.__context__ is None or error.__suppress_context__)
    message = str(caught.value)
    assert str(path) in message
    return message


def test_a_missing_file(tmp_path):
    message = _load_error(tmp_path / "nothing.json")
    assert "does not exist" in message and "result.save()" in message


def test_a_folder_is_not_a_result(tmp_path):
    assert "is a folder" in _load_error(tmp_path)


def test_a_file_that_is_not_utf8(saved):
    assert "byte 2 is not UTF-8 text" in _load_error(saved(raw=b'{"\xff\xfe": 1}'))


@pytest.mark.parametrize("share", [0.5, 0.999])
def test_a_truncated_file(saved, base, share):
    message = _load_error(saved(text=base["text"][: int(len(base["text"]) * share)]))
    assert "not valid JSON" in message and "ends before its closing '}', as a file cut short does" in message


def test_an_empty_file(saved):
    assert "not valid JSON: it is empty" in _load_error(saved(text=""))


def test_text_that_is_not_json(saved):
    assert "Expecting value at line 1, column 1" in _load_error(saved(text="format: approxify.result/1\n"))


def test_json_that_is_not_a_result(saved):
    assert "is not an approxify result: expected format 'approxify.result/1', got JSON a list [1, 2]" \
        in _load_error(saved(text="[1, 2]"))


def test_a_report_data_file_is_not_a_result(saved):
    message = _load_error(saved(lambda d: d.update(format="approxify.report/1")))
    assert "got format 'approxify.report/1'" in message


DAMAGE = {
    "missing key": (lambda d: d.pop("pareto"), "is damaged: the key 'pareto' is missing"),
    "missing nested key": (lambda d: d["pareto"][0].pop("tuning"), "pareto[0]: the key 'tuning' is missing"),
    "wrong type": (lambda d: d["stats"].update(evaluations="many"),
                   "stats.evaluations: expected a whole number >= 0, got text 'many'"),
    "not an object": (lambda d: d.update(settings=[]), "settings: expected an object, got a list []"),
    "bad setting": (lambda d: next(iter(d["pareto"][0]["config"].values())).update(rate=7),
                    "pareto[0].config: Perforate(rate=...) expects"),
    "unknown family": (lambda d: next(iter(d["points"][1]["config"].values())).update(family="warp"),
                       "points[1].config: unknown setting family 'warp'"),
    "best out of range": (lambda d: d.update(best=9), "best: index 9 is past the"),
    "best of a wrong type": (lambda d: d.update(best=[0]), "best: expected \"exact\" or the index"),
    "bad certificate": (lambda d: d["pareto"][0]["certificate"].update(upper=0.9),
                        "pareto[0].certificate: Certificate: holds must equal the tests' verdict"),
    "a number as text": (lambda d: d["settings"].update(bound="0.05"),
                         "settings.bound: expected a number, got text '0.05'"),
    "effects without sites": (lambda d: d["effects"][0].update(sites=[]), "effects[0].sites: expected at least one"),
    "bad fingerprint": (lambda d: d["fingerprint"].update(functions=["x"]),
                        "fingerprint.functions: expected an object"),
}


@pytest.mark.parametrize("edit, expected", DAMAGE.values(), ids=DAMAGE.keys())
def test_a_damaged_structure_names_what_is_wrong(saved, edit, expected):
    message = _load_error(saved(edit))
    assert expected in message, message
    assert "save the result again (result.save) or restore the file" in message


def test_a_bad_setting_message_is_the_settings_own(saved):
    message = _load_error(saved(lambda d: next(iter(d["pareto"][0]["config"].values())).update(rate=7)))
    assert "[0, 1)" in message


def test_a_damaged_saved_fit_is_named_when_the_variant_is_built(clone):
    path, _ = clone(edit=lambda d: d.update(fits={"somewhere": {"kind": "no-such-fit"}}))
    loaded = ax.load(path)
    with pytest.raises(ax.ResultFileError, match=r"is damaged: fits: a saved fit has kind 'no-such-fit'"):
        loaded.program()


def test_a_missing_weights_file_is_named(saved):
    pytest.importorskip("torch")
    message = _load_error(saved(lambda d: d.update(weights_file="gone.weights.pt")))
    assert "its weights file 'gone.weights.pt' cannot be read" in message


def test_from_dict_checks_data_too(base):
    data = json.loads(base["text"])
    del data["stats"]
    with pytest.raises(ax.ResultFileError, match=r"the result data is damaged: the key 'stats' is missing"):
        ax.Result.from_dict(data)
