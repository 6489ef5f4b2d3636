"""MiniLM with every ``Linear`` in dynamic int8, plain and smoothed, with torch's 7-bit
activations and with 8 (what approxify uses on a CPU with VNNI): mean cosine distance to
float32, and the time per batch of the two plain ones (thread CPU time, one thread, medians of
interleaved runs).

    python -m benchmarks.int8_activations
"""

from __future__ import annotations

import time

import torch

import approxify as ax
from approxify.examples import minilm
from approxify.transforms.precision import torch_int8

PAIRS = 9  # interleaved timings of each


def distance(model, variant, inputs) -> float:
    with torch.inference_mode():
        values = [(1 - torch.nn.functional.cosine_similarity(model(*a), variant(*a), dim=-1)).mean().item()
                  for a in inputs]
    return sum(values) / len(values)


def main() -> None:
    torch.set_num_threads(1)
    model = minilm.model().eval()
    inputs = minilm.make_inputs(16, tokens=64, count=6)
    sites = [s for s in ax.sites(model, families=["precision"]) if any(c.dtype == "int8" for c in s.knob.choices)]
    plain = {}
    for bits in (7, 8):
        torch_int8.activation_bits.cache_clear()
        torch_int8.has_vnni = (lambda: True) if bits == 8 else (lambda: False)  # noqa: E731 (this run only)
        for smoothing in (None, 0.8):
            setting = ax.Precision("int8", smoothing=smoothing) if smoothing else ax.Precision("int8")
            variant = ax.apply(model, {s.id: setting for s in sites}, example_inputs=inputs[:4])
            if smoothing is None:
                plain[bits] = variant
            print(f"{bits}-bit activations, smoothing {smoothing}: {len(sites)} Linear layers, mean cosine "
                  f"distance {distance(model, variant, inputs):.4f}")
    times: dict[int, list[float]] = {7: [], 8: []}
    with torch.inference_mode():
        for r in range(PAIRS):
            for bits in (7, 8):
                start = time.thread_time()
                plain[bits](*inputs[r % len(inputs)])
                times[bits].append(time.thread_time() - start)
    print("ms per batch (median of interleaved runs): " +
          ", ".join(f"{bits}-bit {sorted(t)[PAIRS // 2] * 1e3:.1f}" for bits, t in times.items()))


if __name__ == "__main__":
    main()
