"""The neural-network benchmark: tuned models vs the exact ones and single-technique baselines.

Per model (the digits MLP and CNN, and the pretrained MiniLM sentence encoder when its extra is
installed): ``ax.approximate`` over all three families (the digits models with ``repair=``, a
short distillation fine-tune), certified on held-out samples; then, on fresh inputs, side by side in one run: the
exact model, the tuned one, and the baselines a person tries first — dynamic int8 quantization
of every ``Linear`` (``quantize_dynamic``), global magnitude pruning (``torch.nn.utils.prune``,
the largest amount that keeps the bound on these inputs) and a bfloat16 cast of every layer.
Saved size: bytes of the stored weights (quantized ones included).
"""

from __future__ import annotations

import argparse
import copy
import json
import sys
import time
from pathlib import Path
from typing import Any

import approxify as ax
from approxify.examples import digits, minilm
from approxify.measure.cost import time_pair
from approxify.measure.inputs import InputSet, split_call
from approxify.measure.model_cost import weight_bytes
from approxify.measure.quality import get_quality
from approxify.transforms.torch_sites import block_role

from .child import run_each
from .suite import EFFICIENCY_SHARE, REPEATS, against_baselines, efficiency_curve, reached

MODELS = ("digits-mlp", "digits-cnn", "minilm")
# search trials: the digits models are measured in milliseconds, so they get more; MiniLM's
# trials cost seconds each
TRIALS = {"digits-mlp": 80, "digits-cnn": 80, "minilm": 30}
REPAIR_STEPS = 1000
# the digits models' bound: certified over the 360 held-out images (groups= of their 8 noisy
# copies each), where a group's loss is a mean (not 0/1) and empirical Bernstein needs 862
# groups for 1% even at zero loss (288 for 3%)
DIGITS_BOUND = 0.03
PRUNE_AMOUNTS = (0.9, 0.8, 0.7, 0.5, 0.3)


def _setup(name: str) -> dict[str, Any]:
    """The model, its tuning+held-out inputs, fresh inputs, quality, bound, repair steps, title."""
    if name.startswith("digits"):
        kind = "MLP" if name == "digits-mlp" else "CNN"
        return {"model": digits.mlp() if kind == "MLP" else digits.cnn(),
                "inputs": digits.make_inputs(64, copies=8, noise=0.05, seed=0),
                "groups": digits.make_groups(64, copies=8),  # an image's copies: one group
                "fresh": digits.make_inputs(64, copies=2, noise=0.05, seed=1),
                "quality": "mismatch", "bound": DIGITS_BOUND, "repair": REPAIR_STEPS, "loss_cap": None,
                "title": f"digits {kind} (batches of 64 8x8 images)"}
    batches = minilm.make_inputs(8, tokens=32)
    # no repair: a distillation step of a 22.7M-parameter BERT costs what 300 digits steps do
    return {"model": minilm.model(), "inputs": batches[:32], "fresh": batches[32:48],
            "quality": "cosine", "bound": 0.01, "repair": 0, "loss_cap": 0.05,
            "title": "MiniLM-L6 sentence encoder (pretrained; batches of 8 sentences of 32 tokens)"}


def measure(name: str, *, trials: int | None, repeats: int) -> dict[str, Any]:
    spec = _setup(name)
    model, fresh, quality, bound = spec["model"], spec["fresh"], spec["quality"], spec["bound"]
    common = {"quality": quality, "bound": bound, "seed": 0, "progress": False, "repair": spec["repair"],
              "families": ["perforate", "substitute", "precision"], "loss_cap": spec["loss_cap"],
              "groups": spec.get("groups")}
    started = time.perf_counter()
    result = ax.approximate(model, spec["inputs"], **common,
                            budget=ax.Budget(trials=TRIALS[name] if trials is None else trials))
    wall = time.perf_counter() - started
    # random search with as many trials as the tuner measured configs, as in the suite
    searched = sum(1 for p in result.points if not p.is_exact)
    started = time.perf_counter()
    randomly = ax.approximate(model, spec["inputs"], **common, strategy="random",
                              budget=ax.Budget(trials=searched))
    random_wall = time.perf_counter() - started
    exact = ax.apply(model, {})
    programs = {"tuned": result.program()}
    if randomly.best.certified:
        programs["random search"] = randomly.program()
    else:  # nothing to ship: the exact model
        programs["random search (none certified: the exact model)"] = exact
    programs.update(_baselines(model, fresh, quality, bound))
    rows = {}
    for label, program in programs.items():
        if program is None:  # a baseline that meets the bound at no setting
            rows[label] = {"speedup": None, "meets_bound": False}
            continue
        timing = time_pair(exact, program, InputSet(fresh), range(len(fresh)), repeats=repeats)
        losses = _losses(exact, program, fresh, quality)
        rows[label] = {
            "speedup": timing.speedup, "ratios": [min(timing.ratios), max(timing.ratios)],
            "smaller": weight_bytes(exact) / max(weight_bytes(program), 1.0),
            "fresh_loss": float(losses.mean()), "samples": int(losses.size),
            "meets_bound": bool(losses.mean() <= bound),
        }
    best = result.best
    return {
        "model": name, "title": spec["title"], "quality": quality, "repair": spec["repair"], "bound": bound, "repeats": repeats,
        "config": _compact(model, best.config) if best.config else "exact",
        "trials": result.stats["trials"], "certified": best.certified,
        "upper": best.certificate.upper if best.certificate else None,
        "n": best.certificate.n if best.certificate else None,
        "unit": best.certificate.unit if best.certificate else None,
        "evaluations": result.stats["evaluations"], "wall_seconds": wall,
        "random": {"config": _compact(model, randomly.best.config) if randomly.best.config else "exact",
                   "certified": randomly.best.certified, "evaluations": randomly.stats["evaluations"],
                   "wall_seconds": random_wall},
        "efficiency": {"tuned": efficiency_curve(result, bound), "random": efficiency_curve(randomly, bound)},
        "exact_ms": _batch_ms(exact, fresh), "rows": rows,
    }


def _compact(model, config) -> str:
    """``config`` by setting, a layer of repeated blocks shown once for all of them
    (``layer.*.output.dense``) or with the blocks that take the setting (``(blocks 4, 5)``)."""
    by_label: dict[str, dict[str, list[str]]] = {}
    blocks: dict[str, int] = {}  # a role shown -> how many blocks its ModuleList has
    for site, setting in config.items():
        path, _, family = site.rpartition("/")
        role = block_role(model, path)
        shown = f"{role or path}/{family}"
        indices = by_label.setdefault(setting.label(), {}).setdefault(shown, [])
        if role is not None:
            star = role.split(".").index("*")
            indices.append(path.split(".")[star])
            blocks[shown] = len(model.get_submodule(".".join(role.split(".")[:star])))
    return "; ".join(
        f"{label}: " + ", ".join(shown if len(indices) == blocks.get(shown, len(indices))
                                 else f"{shown} (blocks {', '.join(indices)})"
                                 for shown, indices in sites.items())
        for label, sites in by_label.items())


def _losses(exact, program, inputs, quality):
    import numpy as np
    import torch

    metric = get_quality(quality, per_sample=True)
    with torch.inference_mode():
        calls = [split_call(x)[0] for x in inputs]
        return np.concatenate([metric(exact(*args), program(*args)) for args in calls])


def _batch_ms(model, inputs) -> float:
    import torch

    with torch.inference_mode():
        started = time.perf_counter()
        for x in inputs:
            model(*split_call(x)[0])
    return 1000 * (time.perf_counter() - started) / len(inputs)


def _baselines(model, inputs, quality, bound) -> dict[str, Any]:
    """What a person tries first, each with one technique."""
    import torch
    import torch.nn.utils.prune  # noqa: F401  (a submodule torch does not import itself)

    linear = [s.id for s in ax.sites(model, families=["precision"]) if "int8" in
              [c.label() for c in s.knob.choices]]
    everything = [s.id for s in ax.sites(model, families=["precision"])]
    found = {
        "quantize_dynamic (every Linear int8)": ax.apply(model, {s: ax.Precision("int8") for s in linear}),
        "bfloat16 cast (every layer)": ax.apply(model, {s: ax.Precision("bfloat16") for s in everything}),
    }
    exact = ax.apply(model, {})
    for amount in PRUNE_AMOUNTS:  # the largest amount that keeps the bound on these inputs
        pruned = copy.deepcopy(exact)
        weights = [(m, "weight") for m in pruned.modules()
                   if isinstance(m, (torch.nn.Linear, torch.nn.Conv2d)) and type(m) is not
                   torch.nn.modules.linear.NonDynamicallyQuantizableLinear]
        torch.nn.utils.prune.global_unstructured(weights, pruning_method=torch.nn.utils.prune.L1Unstructured,
                                                 amount=amount)
        for module, parameter in weights:
            torch.nn.utils.prune.remove(module, parameter)
        if _losses(exact, pruned, inputs, quality).mean() <= bound:
            found[f"global magnitude pruning {amount:.0%}"] = pruned
            break
    else:
        found["global magnitude pruning (no amount meets the bound)"] = None
    return found


def run(*, quick: bool = False, repeats: int = 21, only: list[str] | None = None,
        log=None) -> list[dict[str, Any]] | None:
    """Every model of :data:`MODELS` (those of ``only`` when given: None if it names none)."""
    from importlib.util import find_spec

    wanted = [m for m in MODELS if not only or m in only]
    if not wanted:
        return None
    if find_spec("torch") is None or find_spec("sklearn") is None:
        return [{"skipped": "torch or scikit-learn not installed (the torch extra)"}]
    names = [m for m in wanted if m != "minilm" or minilm.available()]
    # timed like the suite's programs (at most REPEATS paired ratios): the suite runs in 30 minutes
    args = ["--trials", "10", "--repeats", str(min(repeats, 7))] if quick else ["--repeats", str(min(repeats, REPEATS))]
    found = run_each("models", "model", names, args, log)
    if "minilm" in wanted and "minilm" not in names:
        found.append({"skipped": f"MiniLM: {minilm.INSTALL_HINT}"})
    return found


def markdown(results: list[dict[str, Any]], *, quick: bool = False) -> list[str]:
    lines = ["## Neural networks (issue: neural networks)", ""]
    skipped = [r["skipped"] for r in results if "skipped" in r]
    results = [r for r in results if "skipped" not in r]
    if not results:
        return lines + [f"Skipped: {'; '.join(skipped)}."]
    lines += [
        "`ax.approximate(model, batches, families=[perforate, substitute, precision])`, "
        f"with `repair={REPAIR_STEPS}` (distillation steps per variant) for the digits models; "
        "MiniLM without repair (a step of a 22.7M-parameter BERT costs what a hundred digits "
        f"steps do). The digits models at a certified top-1 disagreement <= {DIGITS_BOUND:.0%} with the "
        "exact model (inputs: the 719 test images, 8 noisy copies of each for tuning and "
        "certification, an image's copies one group (`groups=`): split by image and certified "
        "over the 360 held-out images, each one loss, the mean over its copies; 1% cannot be "
        "certified from 360 images, empirical Bernstein needs 862 even at zero loss; two other "
        "noisy copies as fresh inputs, the same images with other noise); MiniLM at a certified mean cosine distance <= 0.01 "
        "(cosine similarity >= 0.99; each sentence's distance capped at 0.05 for the certificate, "
        "`loss_cap=0.05`; inputs: 256 standard-library docstring sentences for tuning and "
        "certification, 128 others as fresh inputs). Then on fresh inputs, side by side in one "
        "run: speedup against the exact model (median of paired ratios per batch), how many "
        "times smaller the stored weights are, and the loss. Baselines: `quantize_dynamic` of "
        "every Linear, a bfloat16 cast of every layer, and global magnitude pruning "
        "(`torch.nn.utils.prune`, the largest of 90/80/70/50/30% that keeps the bound on the "
        "fresh inputs); and random search (`strategy='random'`, the same families and repair) with "
        "as many trials as the tuner measured configs (its best certified config; the exact model "
        "if none is certified). Targets: digits >= 2.5x faster and >= 5x smaller; MiniLM >= 2x "
        "faster; and the tuned config beats every baseline that meets the bound (within 2% is a tie, "
        "the timing noise of one run, as in the suite)."
        + (" Quick run: fewer trials and repetitions." if quick else ""),
        "",
        "| model | program | speedup (min-max) | smaller | loss on fresh inputs | meets the bound |",
        "|---|---|---|---|---|---|",
    ]
    for r in results:
        for label, row in r["rows"].items():
            if row["speedup"] is None:
                lines.append(f"| {r['title']} | {label} | - | - | - | no |")
                continue
            lines.append(
                f"| {r['title']} | {label} | {row['speedup']:.2f}x ({row['ratios'][0]:.2f}-"
                f"{row['ratios'][1]:.2f}) | {row['smaller']:.1f}x | {row['fresh_loss']:.4f} "
                f"(n={row['samples']}) | {'yes' if row['meets_bound'] else 'no'} |")
    lines += ["", "| model | tuned config | certificate | search | tuning time | exact ms/batch | targets |",
              "|---|---|---|---|---|---|---|"]
    for r in results:
        tuned = r["rows"].get("tuned", {})
        speed_target, size_target = (2.5, 5.0) if r["model"].startswith("digits") else (2.0, None)
        verdicts = [_verdict("speed", tuned.get("speedup") if r["certified"] else None, speed_target)]
        if size_target is not None:
            verdicts.append(_verdict("size", tuned.get("smaller") if r["certified"] else None, size_target))
        beats = against_baselines(tuned.get("speedup", 0.0), [
            row["speedup"] for label, row in r["rows"].items()
            if label != "tuned" and not label.startswith("random search") and row["meets_bound"]])
        certificate = (f"holds: <= {r['upper']:.4f} (n={r['n']} {r.get('unit') or 'samples'})" if r["certified"]
                       else "none certified: the exact model")
        lines.append(f"| {r['title']} | {r['config']} | {certificate} | {r.get('trials', '-')} trials, "
                     f"{r['evaluations']} evaluations | {r['wall_seconds']:.0f} s | {r['exact_ms']:.2f} | "
                     f"{'; '.join(verdicts)}; beats the baselines that meet the bound: {beats} |")
    efficiency = (f"**Tuning efficiency**: evaluations until the best tuning speedup within the bound "
                  f"reaches {EFFICIENCY_SHARE:.0%} of the best either search found (the tuner's count "
                  "includes its sensitivity pass).")
    header = ("| model | best found | approxify: evaluations | random search: evaluations "
              "| random search: config | random search: tuning time |")
    lines += ["", efficiency, "", header, "|---|---|---|---|---|---|"]
    for r in results:
        curves, rnd = r["efficiency"], r["random"]
        top = max([v for curve in curves.values() for v in curve] + [1.0])
        shown = rnd["config"] if rnd["certified"] else f"none certified (best: {rnd['config']})"
        lines.append(f"| {r['title']} | {top:.2f}x | {reached(curves['tuned'], EFFICIENCY_SHARE * top)} "
                     f"| {reached(curves['random'], EFFICIENCY_SHARE * top)} | {shown} "
                     f"| {rnd['wall_seconds']:.0f} s |")
    return lines + ["", *(f"Skipped: {s}." for s in skipped)] if skipped else lines


def _verdict(what: str, value: float | None, target: float) -> str:
    if value is None:
        return f"{what} >= {target:g}x NOT met (nothing certified)"
    return f"{what} {value:.3f}x {'>=' if value >= target else '<'} {target:g}x: {'met' if value >= target else 'NOT met'}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.models")
    parser.add_argument("--model", required=True, choices=MODELS)
    parser.add_argument("--trials", type=int, default=None, help="default: TRIALS of the model")
    parser.add_argument("--repeats", type=int, default=21)
    parser.add_argument("--json", required=True)
    args = parser.parse_args(argv)
    Path(args.json).write_text(json.dumps(measure(args.model, trials=args.trials, repeats=args.repeats),
                                          indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
