"""A model's variant written to a file that loads with torch alone: torch.export (.pt2) where it
can trace the variant, TorchScript (.pt) for the rest; each file is loaded back in a Python that
cannot import approxify, and gives the variant's outputs."""

from __future__ import annotations

import importlib
import importlib.util
import subprocess
import sys
import textwrap

import pytest

torch = pytest.importorskip("torch", reason="torch is an optional extra (pip install 'approxify[torch]')")

import approxify as ax  # noqa: E402
from approxify.cli import main  # noqa: E402
from approxify.errors import InvalidArgument, UnsupportedTarget  # noqa: E402
from approxify.report.export_model import export_model  # noqa: E402

nn = torch.nn


def mlp() -> nn.Module:
    torch.manual_seed(0)
    return nn.Sequential(nn.Linear(16, 32), nn.ReLU(), nn.Linear(32, 32), nn.ReLU(), nn.Linear(32, 4)).eval()


def cnn() -> nn.Module:
    torch.manual_seed(0)
    return nn.Sequential(nn.Conv2d(1, 8, 3, padding=1), nn.BatchNorm2d(8), nn.ReLU(),
                         nn.Conv2d(8, 8, 3, padding=1), nn.ReLU(), nn.Flatten(), nn.Linear(8 * 6 * 6, 3)).eval()


class Encoder(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        torch.manual_seed(0)
        self.embed = nn.Linear(8, 16)
        layer = nn.TransformerEncoderLayer(16, 2, 32, dropout=0.0, batch_first=True)
        self.encoder = nn.TransformerEncoder(layer, num_layers=2, enable_nested_tensor=False)
        self.head = nn.Linear(16, 3)

    def forward(self, x):
        return self.head(self.encoder(self.embed(x)).mean(dim=1))


def batches(*shape: int) -> list:
    """Two example batches of different sizes, and a third size only the reloaded file sees."""
    generator = torch.Generator().manual_seed(1)
    return [torch.randn(n, *shape, generator=generator) for n in (8, 5, 3)]


# every family that makes a structurally different module, and what each suffix wrote (measured,
# torch 2.13): None where torch.export cannot trace the variant and .pt2 is refused
CASES = {
    "exact": (mlp, {}, (16,), "torch.export", "TorchScript (script)"),
    "int8": (mlp, {"2/precision": ax.Precision("int8")}, (16,), None, "TorchScript (script)"),
    "bfloat16": (mlp, {"2/precision": ax.Precision("bfloat16")}, (16,), "torch.export", "TorchScript (trace)"),
    "neurons": (mlp, {"2/perforate": ax.Perforate(0.5, "neurons")}, (16,), "torch.export", "TorchScript (script)"),
    "magnitude": (mlp, {"2/perforate": ax.Perforate(0.75, "magnitude")}, (16,), None, "TorchScript (trace)"),
    "lowrank": (mlp, {"2/substitute": ax.Substitute("lowrank", rank=4)}, (16,), "torch.export", "TorchScript (script)"),
    "cnn-neurons": (cnn, {"0/perforate": ax.Perforate(0.5, "neurons")}, (1, 6, 6), "torch.export", "TorchScript (script)"),
    "attention-bf16": (Encoder, {"encoder.layers.0.self_attn.q_proj": ax.Precision("bfloat16")}, (5, 8),
                       "torch.export", "TorchScript (trace)"),
    "attention-int8": (Encoder, {"encoder.layers.1.self_attn.out_proj": ax.Precision("int8")}, (5, 8),
                       None, "TorchScript (trace)"),
    "blocks-dropped": (Encoder, {"encoder.layers": ax.Perforate(0.5)}, (5, 8), "torch.export", "TorchScript (script)"),
}

# run with -I (no PYTHONPATH, no current directory) and without any sys.path entry that holds
# approxify (an editable install puts its source folder there): the file must load without it
LOADER = textwrap.dedent("""
    import os, sys
    sys.path[:] = [p for p in sys.path if not os.path.isdir(os.path.join(p or os.curdir, "approxify"))]
    try:
        import approxify
        blocked = False
    except ImportError:
        blocked = True
    import torch
    folder = sys.argv[1]
    inputs = torch.load(os.path.join(folder, "inputs.pt"))
    outputs = {}
    for name in sorted(os.listdir(folder)):
        if name.endswith((".pt2", ".pt")) and name != "inputs.pt":
            path = os.path.join(folder, name)
            model = torch.export.load(path).module() if name.endswith(".pt2") else torch.jit.load(path)
            with torch.inference_mode():
                outputs[name] = [model(x) for x in inputs[name.rpartition(".")[0]]]
    torch.save({"blocked": blocked, "outputs": outputs,
                "approxify_loaded": any(m.split(".")[0] == "approxify" for m in sys.modules)},
               os.path.join(folder, "outputs.pt"))
""")


def load_elsewhere(folder, inputs: dict) -> dict:
    """Every .pt2 and .pt file in ``folder``, loaded and run in a Python without approxify."""
    torch.save(inputs, folder / "inputs.pt")
    done = subprocess.run([sys.executable, "-I", "-c", LOADER, str(folder)], cwd=folder,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    loaded = torch.load(folder / "outputs.pt")
    assert loaded["blocked"] and not loaded["approxify_loaded"]
    return loaded["outputs"]


def run(model, x):
    with torch.inference_mode():
        return model(x)


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    """Each case's variant written as .pt2 and .pt: what was written (or the refusal), the
    variant's outputs, and the outputs of the files loaded without approxify."""
    folder = tmp_path_factory.mktemp("exported")
    written, expected, inputs = {}, {}, {}
    for name, (build, config, shape, _, _) in CASES.items():
        examples = batches(*shape)
        variant = ax.apply(build(), config)
        inputs[name] = examples
        expected[name] = [run(variant, x) for x in examples]
        for suffix in (".pt2", ".pt"):
            try:
                written[name + suffix] = export_model(variant, folder / f"{name}{suffix}", examples[:2])
            except UnsupportedTarget as refused:
                written[name + suffix] = refused
    return written, expected, load_elsewhere(folder, inputs)


@pytest.mark.parametrize("name", list(CASES))
def test_each_family_is_written_in_the_format_measured_and_loads_without_approxify(exported, name):
    written, expected, loaded = exported
    *_, pt2, pt = CASES[name]
    for suffix, format_ in ((".pt2", pt2), (".pt", pt)):
        outcome = written[name + suffix]
        if format_ is None:
            assert isinstance(outcome, UnsupportedTarget), outcome
            assert "write TorchScript instead" in str(outcome) and f"{name}.pt'" in str(outcome)
            continue
        assert outcome.format == format_, outcome.describe()
        assert outcome.max_abs_diff <= 1e-5 and outcome.checked == 2
        # the third batch is of a size neither example had: the batch dimension stays free
        for got, want in zip(loaded[name + suffix], expected[name], strict=True):
            torch.testing.assert_close(got, want)
        if format_ == "TorchScript (trace)":
            assert "TorchScript (script) failed" in outcome.reasons[0]


def test_fp32_variants_reload_bit_for_bit(exported):
    written, expected, loaded = exported
    for name in ("exact", "neurons", "lowrank", "int8", "magnitude"):
        for file in (f"{name}.pt2", f"{name}.pt"):
            if file in loaded:
                assert all(torch.equal(g, w) for g, w in zip(loaded[file], expected[name], strict=True)), file


def test_a_pt2_refusal_says_why_in_words():
    variant = ax.apply(mlp(), {"2/precision": ax.Precision("int8")})
    with pytest.raises(UnsupportedTarget, match=r"packed weights, which torch.export cannot trace"):
        export_model(variant, "/nonexistent/net.pt2", batches(16)[:1])


class Branchy(nn.Module):
    """A branch on the input's values, and a forward TorchScript cannot compile (``*rest``)."""

    def forward(self, x, *rest):
        return x * 2 if x.sum() > 0 else -x


def test_a_file_that_does_not_reproduce_the_variant_is_not_kept(tmp_path):
    # traced on a positive batch, the trace keeps x * 2; checked on a negative one, it differs
    examples = [torch.ones(2, 3), -torch.ones(2, 3)]
    with pytest.raises(UnsupportedTarget) as refused:
        export_model(Branchy(), tmp_path / "b.pt", examples)
    message = str(refused.value)
    assert "TorchScript (script) failed" in message and "TorchScript (trace) failed: AssertionError" in message
    assert list(tmp_path.iterdir()) == []  # neither the file nor its partial copy is left


def test_bad_paths_and_inputs_are_clear_errors(tmp_path):
    variant = ax.apply(mlp(), {})
    with pytest.raises(InvalidArgument, match=r"path '.*net.py': .* \.pt2 \(torch.export, preferred\), "
                                              r"\.pt \(TorchScript\) or \.onnx, got '\.py'"):
        export_model(variant, tmp_path / "net.py", batches(16))
    with pytest.raises(InvalidArgument, match=r"example_inputs\[0\]: the variant raised RuntimeError"):
        export_model(variant, tmp_path / "net.pt2", [torch.randn(2, 5)])
    with pytest.raises(InvalidArgument, match=r"example_inputs is empty"):
        export_model(variant, tmp_path / "net.pt2", [])


@pytest.mark.skipif(all(importlib.util.find_spec(m) for m in ("onnx", "onnxruntime")),
                    reason="onnx is installed (it is not a dependency)")
def test_onnx_needs_onnx_and_says_what_to_install(tmp_path):
    with pytest.raises(ImportError, match=r"pip install onnx onnxscript onnxruntime"):
        export_model(ax.apply(mlp(), {}), tmp_path / "net.onnx", batches(16))
    assert not (tmp_path / "net.onnx").exists()


@pytest.mark.skipif(not all(importlib.util.find_spec(m) for m in ("onnx", "onnxruntime", "onnxscript")),
                    reason="onnx, onnxscript and onnxruntime are not installed (not dependencies)")
def test_onnx_is_written_where_onnx_is_installed(tmp_path):
    variant = ax.apply(mlp(), {"2/substitute": ax.Substitute("lowrank", rank=4)})
    written = export_model(variant, tmp_path / "net.onnx", batches(16))
    assert written.format == "ONNX" and written.max_abs_diff <= 1e-5
    with pytest.raises(UnsupportedTarget, match=r"packed weights"):
        export_model(ax.apply(mlp(), {"2/precision": ax.Precision("int8")}), tmp_path / "q.onnx", batches(16))


# -- results and the command line ---------------------------------------------------------------

NET = """
import torch

torch.manual_seed(0)
model = torch.nn.Sequential(torch.nn.Linear(16, 32), torch.nn.ReLU(), torch.nn.Linear(32, 4)).eval()


def batches():
    generator = torch.Generator().manual_seed(1)
    return [torch.randn(8, 16, generator=generator) for _ in range(16)]
"""

KERNEL = """
def scale(x):
    total = 0.0
    for i in range(20):
        total += x * i
    return total


def inputs():
    return [float(i) for i in range(24)]
"""


@pytest.fixture
def folder(tmp_path, monkeypatch):
    """The current directory, holding a model module and a function's; what the command line
    adds to sys.path and imports from there is undone after the test."""
    (tmp_path / "export_net.py").write_text(NET)
    (tmp_path / "export_kernel.py").write_text(KERNEL)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(sys, "path", list(sys.path))
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # tune times tiny batches: one thread is steadier on a busy machine
    yield tmp_path
    torch.set_num_threads(threads)
    for name in ("export_net", "export_kernel"):
        sys.modules.pop(name, None)


def forget(folder, module: str) -> None:
    """As in a new process: the module not imported, the current directory not on sys.path."""
    sys.modules.pop(module, None)
    sys.path[:] = [p for p in sys.path if p not in (str(folder), "")]


def test_export_writes_a_model_result_importing_its_target_from_the_current_directory(folder, capsys):
    assert main(["tune", "export_net:model", "--inputs", "export_net:batches", "--trials", "0",
                 "--select", "0/perforate", "--bound", "0.5", "--quiet", "--out", "r.json"]) == 0
    forget(folder, "export_net")
    assert main(["export", "r.json", "--out", "net.pt", "--inputs", "export_net:batches"]) == 0
    said = capsys.readouterr().out
    assert "approximated model of Sequential" in said and "load it with torch.jit.load('net.pt')" in said
    variant = ax.load("r.json").program()
    examples = sys.modules["export_net"].batches()[:3]
    loaded = load_elsewhere(folder, {"net": examples})["net.pt"]
    assert all(torch.equal(g, run(variant, x)) for g, x in zip(loaded, examples, strict=True))


def test_export_of_a_model_result_refuses_what_it_cannot_write(folder, capsys):
    sys.path.insert(0, str(folder))
    export_net = importlib.import_module("export_net")
    # what tune writes, measured without timing (the parameter count as the cost)
    result = ax.approximate(export_net.model, export_net.batches(), quality="rel_l2", bound=0.5,
                            cost="params", families=["perforate"], select=["0/perforate"],
                            budget=ax.Budget(trials=0), progress=False)
    result.imported_as = "export_net:model"
    result.save("r.json")
    forget(folder, "export_net")
    for argv, said in (
        (["--out", "net.py", "--inputs", "export_net:batches"], "--out 'net.py': a model's variant is written as .pt2"),
        (["--out", "net.pt2"], "name example inputs with --inputs module:name"),
        (["--inputs", "export_net:batches"], "name the file to write with --out"),
    ):
        assert main(["export", "r.json", *argv]) == 2
        assert said in capsys.readouterr().err
    assert not (folder / "net.py").exists() and not (folder / "net.pt2").exists()


def test_a_python_result_exports_source_and_refuses_model_options(folder, capsys):
    assert main(["tune", "export_kernel:scale", "--inputs", "export_kernel:inputs", "--trials", "0",
                 "--bound", "0.5", "--quiet", "--out", "r.json"]) == 0
    capsys.readouterr()
    assert main(["export", "r.json", "--out", "fast.py"]) == 0 and (folder / "fast.py").exists()
    assert main(["export", "r.json", "--out", "fast2.py", "--inputs", "export_kernel:inputs"]) == 2
    assert "--inputs is for a model result; export_kernel.scale is a Python function" in capsys.readouterr().err
    assert main(["export", "r.json", "--out", "fast.pt2"]) == 2
    assert "name a .py file" in capsys.readouterr().err
    with pytest.raises(UnsupportedTarget, match=r"scale is a Python function.*result.source\(\)"):
        ax.load("r.json").export_model(folder / "fast.pt2", [1.0])


def test_result_export_model_writes_the_best_or_a_given_config(tmp_path):
    model = mlp()
    examples = batches(16)
    result = ax.approximate(model, examples * 6, quality="rel_l2", bound=0.5, cost="params",
                            families=["perforate"], select=["2/perforate"], budget=ax.Budget(trials=0),
                            progress=False)
    config = {"2/perforate": ax.Perforate(0.5, "neurons")}
    written = result.export_model(tmp_path / "net.pt2", examples, config=config)
    assert written.format == "torch.export"
    reloaded = torch.export.load(str(tmp_path / "net.pt2")).module()
    assert torch.equal(run(reloaded, examples[2]), run(result.program(config), examples[2]))
    with pytest.raises(InvalidArgument, match=r"export_model\(example_inputs=...\) is needed"):
        result.export_model(tmp_path / "net.pt2")
    saved = ax.load(result.save(tmp_path / "r.json"))  # no target=: the class alone has no weights
    with pytest.raises(ax.InvalidArgumentType, match=r"names the class .*Sequential of its model"):
        saved.export_model(tmp_path / "net.pt2", examples)
