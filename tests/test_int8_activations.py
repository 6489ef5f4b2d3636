"""Dynamic int8 Linear layers quantize activations to 8 bits where the CPU has VNNI (nothing
saturates there) and to torch's 7 elsewhere (issue 21, item 2)."""

from __future__ import annotations

import subprocess
import sys

import pytest

torch = pytest.importorskip("torch")

from approxify.transforms.precision import torch_int8  # noqa: E402


@pytest.fixture
def layer():
    torch.manual_seed(0)
    return torch.nn.Linear(256, 128)


def test_eight_bit_activations_halve_the_rounding_error(layer):
    x = torch.randn(64, 256) * 3.0
    with torch.inference_mode():
        exact = layer(x)
        seven = torch_int8.int8_linear(layer, bits=7)(x)
        eight = torch_int8.int8_linear(layer, bits=8)(x)
    err7, err8 = (seven - exact).abs().mean().item(), (eight - exact).abs().mean().item()
    assert err8 < 0.75 * err7, (err7, err8)
    assert type(torch_int8.int8_linear(layer, bits=7)).__name__ == "Linear"  # torch's own class


def test_the_bits_follow_the_cpu(monkeypatch):
    torch_int8.activation_bits.cache_clear()
    try:
        monkeypatch.setattr(torch_int8, "has_vnni", lambda: False)
        assert torch_int8.activation_bits() == 7
        torch_int8.activation_bits.cache_clear()
        monkeypatch.setattr(torch_int8, "has_vnni", lambda: True)
        expected = 8 if torch_int8.platform.machine().lower() in ("x86_64", "amd64") else 7
        assert torch_int8.activation_bits() == expected
    finally:
        torch_int8.activation_bits.cache_clear()


def test_vnni_is_read_from_the_cpu_flags():
    flags = open("/proc/cpuinfo").read().split() if sys.platform == "linux" else []
    assert torch_int8.has_vnni() == any(f in flags for f in ("avx512_vnni", "avx_vnni"))


def test_an_eight_bit_layer_scripts_and_loads_without_approxify(layer, tmp_path):
    quantized = torch_int8.int8_linear(layer, bits=8)
    x = torch.randn(4, 256)
    path = tmp_path / "layer.pt"
    torch.jit.save(torch.jit.script(quantized), str(path))
    torch.save(x, tmp_path / "x.pt")
    with torch.inference_mode():
        torch.save(quantized(x), tmp_path / "y.pt")
    code = ("import sys, torch; sys.path = [p for p in sys.path if 'approxify' not in p and 'src' not in p]; "
            f"m = torch.jit.load({str(path)!r}); x = torch.load({str(tmp_path / 'x.pt')!r}); "
            f"y = torch.load({str(tmp_path / 'y.pt')!r}); assert torch.equal(m(x), y)")
    done = subprocess.run([sys.executable, "-I", "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
