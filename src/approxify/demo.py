"""``approxify demo``: tune three examples (two loop nests, one NumPy kernel) under a bound and
show what was found."""

from __future__ import annotations

import tempfile
from pathlib import Path

from rich.console import Console

from .config import Budget
from .examples import dense, mc, sobel
from ._api import approximate

BOUND = 0.05


def run_demo(*, quick: bool = False, out: Path | None = None) -> int:
    console = Console()
    out = out or Path(tempfile.mkdtemp(prefix="approxify-demo-"))
    out.mkdir(parents=True, exist_ok=True)
    count, trials = (400, 12) if quick else (800, 40)
    examples = [
        ("dense layer as a loop nest (out[i] += w[i][j] * x[j], then ReLU)", dense.layer,
         dense.make_inputs(count), {"bound": BOUND}),
        ("Monte Carlo option pricer (sum over simulated paths)", mc.estimate,
         mc.make_inputs(count, seed=1), {"bound": BOUND}),
        # precision: a relative error of 1e-3, certifiable from 200 held-out inputs with the cap
        ("Sobel edges of 512x512 images in NumPy (precision: float64 -> float32)", sobel.sobel,
         sobel.make_inputs(360 if quick else 400), {"bound": 1e-3, "loss_cap": 0.02,
                                                     "families": ["precision"]}),
    ]
    reports = []
    for title, fn, inputs, options in examples:
        console.rule(f"[bold]{title}")
        result = approximate(fn, inputs, quality="rel_l2", confidence=0.95,
                             budget=Budget(trials=trials), seed=0, **options)
        console.print(result.summary(), highlight=False, soft_wrap=True)
        stem = fn.__module__.rsplit(".", 1)[-1]
        saved = result.save(out / f"{stem}.json")
        exported = out / f"{stem}_fast.py"
        exported.write_text(result.source())
        report = result.report(out / f"{stem}.html")
        console.print(f"\nresult: {saved}\napproximated source: {exported}\nreport: {report}\n")
        reports.append(report)
    console.rule("[bold]reports")
    console.print("Open in a browser (trade-off plot, certificate, sensitivity, the change):")
    for report in reports:
        console.print(f"  {report}", highlight=False)
    return 0
