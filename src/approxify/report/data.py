"""What the HTML report shows, computed first as plain JSON-able data (:func:`report_data`).

Rendering (:mod:`.html`) only lays this out, so everything a reader is told is here and tested:
the trade-off (every measured config, the certified ones marked, the bound), the certificate in
words, reliability and failures, each site's sensitivity alone, and the change itself (a source
diff for a function, a layer table for a model).
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from typing import Any

from ..measure.model_cost import weight_bytes

FORMAT = "approxify.report/1"


def report_data(result: Any) -> dict[str, Any]:
    """Everything the report shows about ``result`` (an :class:`approxify.Result`)."""
    s = result.settings
    best = result.best
    held = best.heldout or {}
    shown = change(result)  # first: it compares the target with what was measured
    return {
        "format": FORMAT,
        "target": result.target,
        "reference": result.reference,
        "settings": {key: s.get(key) for key in ("quality", "loss_cap", "bound", "confidence", "cost",
                                                 "strategy", "grouping", "tuning", "heldout", "seed")},
        "stats": {key: result.stats.get(key) for key in ("trials", "evaluations", "wall_seconds")},
        "environment": result.environment,
        "best": {
            "exact": best.is_exact,
            "config": best.describe() if not best.is_exact else "the exact program",
            "speedup": best.speedup,
            "speedup_low": best.speedup_low,  # its interval (None in results saved before intervals)
            "speedup_high": best.speedup_high,
            "mean_loss": best.mean_loss,
            "certified": best.certified,
            "certificate": best.certificate.to_dict() if best.certificate else None,
        },
        "certificate_text": _certificate_text(result),
        "size": model_size(result),
        "reliability": _reliability(held, unit=best.certificate.unit if best.certificate else "inputs"),
        "tradeoff": tradeoff_points(result),
        "sensitivity": sensitivity_rows(result),
        "effects": result.effects,
        "guards": held.get("guards") or {},
        "notes": list(result.notes),
        "skipped": list(result.skipped),
        "change": shown,
        "changed": list(result.changed),  # how the target differs from what was measured
        "provenance": result.provenance(),
    }


def model_size(result: Any) -> dict[str, Any] | None:
    """A model's stored bytes: the best variant's, the exact model's, the limit asked (None: a
    function, or a result saved before sizes were recorded)."""
    best, exact = result.best.tuning.get("bytes"), result.exact.tuning.get("bytes")
    if best is None or exact is None:
        return None
    return {"best": best, "exact": exact, "max_bytes": result.settings.get("max_bytes")}


def size_text(size: Mapping[str, Any]) -> str:
    """``size`` (see :func:`model_size`) in words."""
    smaller = f", {size['exact'] / size['best']:.2f}x smaller" if size["best"] and size["best"] != size["exact"] else ""
    asked = f"; at most {_megabytes(size['max_bytes'])} asked (max_bytes=)" if size.get("max_bytes") else ""
    return f"size {_megabytes(size['best'])} stored (the exact model {_megabytes(size['exact'])}{smaller}){asked}"


def _megabytes(count: float) -> str:
    return f"{count / 1e6:.3g} MB"


def tradeoff_points(result: Any) -> list[dict[str, Any]]:
    """Every config measured while tuning, once each: its tuning figures, and for the configs
    sent to certification (the front) also the held-out figures and the certificate."""
    front = {c.describe() for c in result.pareto}
    points = [_point(result.exact, front=False, best=result.best is result.exact)]
    for candidate in result.points:
        if not candidate.is_exact and candidate.describe() not in front:
            points.append(_point(candidate, front=False, best=False))
    points += [_point(c, front=True, best=c is result.best) for c in result.pareto]
    return points


def _point(candidate: Any, *, front: bool, best: bool) -> dict[str, Any]:
    held = candidate.heldout or {}
    cert = candidate.certificate
    return {
        "config": candidate.describe() if not candidate.is_exact else "exact",
        "origin": candidate.origin,
        "exact": candidate.is_exact,
        "front": front,
        "best": best,
        "speedup": candidate.tuning.get("speedup"),
        "mean_loss": candidate.tuning.get("mean_loss"),
        "failures": candidate.tuning.get("failures", 0),
        "heldout_speedup": held.get("speedup"),
        "heldout_speedup_low": held.get("speedup_low"),
        "heldout_speedup_high": held.get("speedup_high"),
        "heldout_loss": held.get("mean_loss"),
        "upper": _selected_upper(cert),
        "certified": bool(cert and cert.holds),
    }


def _selected_upper(cert: Any) -> float | None:
    """The mean loss's upper bound as the certificate prints it (valid after selection)."""
    if cert is None or not cert.tested or cert.stopped_after is not None:
        return None
    return cert.upper if cert.selected_upper is None else cert.selected_upper


def sensitivity_rows(result: Any) -> list[dict[str, Any]]:
    """Each site with each setting alone (tuning inputs), most speedup first within a site."""
    rows = [
        {"site": r["site"], "setting": r["label"], "speedup": r["speedup"], "mean_loss": r["mean_loss"],
         "failures": r.get("failures", 0), "kept": r.get("kept"), "reason": r.get("reason")}
        for r in result.sensitivity
    ]
    return sorted(rows, key=lambda r: (r["site"], -(r["speedup"] or 0.0)))


def _certificate_text(result: Any) -> str:
    best = result.best
    if best.certificate is not None:
        return best.certificate.statement()
    if best.is_exact:
        return ("Nothing to certify: the best program is the exact one (" +
                (" ".join(result.notes) or "no approximation was certified") + ")")
    return "Not certified."


def _reliability(held: dict[str, Any], *, unit: str) -> dict[str, Any]:
    """How often the best config's output was identical, failed or not finite (held-out)."""
    n = held.get("n") or 0
    return {
        "n": n,
        "identical": held.get("identical"),
        "identical_share": (held.get("identical") or 0) / n if n else None,
        "failures": held.get("failures", 0),
        "failure_kinds": held.get("failure_kinds", []),
        "max_loss": held.get("max_loss"),
        "p95_loss": held.get("p95_loss"),
        "unit": unit,
    }


def change(result: Any) -> dict[str, Any]:
    """What the best config changes: a unified diff of the function sources, or for a model one
    row per changed layer (type and parameters before and after)."""
    if result.best.is_exact:
        return {"kind": "none", "text": "The exact program: nothing changes."}
    try:
        target = result._checked()
    except Exception as exc:  # the target cannot be imported here, or changed: say so, keep the rest
        return {"kind": "unavailable", "text": f"The change cannot be shown: {exc}"}
    if target.has_weights:  # a model: its change is a table of layers, not a diff
        return {"kind": "layers", "rows": layer_rows(target, result.best.config)}
    before = target.program.source()
    after = target.rewrite(result.best.config).source()
    diff = difflib.unified_diff(before.splitlines(), after.splitlines(), "original", "approximated",
                                lineterm="", n=2)
    return {"kind": "diff", "text": "\n".join(diff)}


def layer_rows(target: Any, config: dict[str, Any]) -> list[dict[str, Any]]:
    """For each configured site of a model: the module there before and after, and the bytes
    of what it stores (weights, int8 packed weights, sparse indices)."""
    before = dict(target.build({}).named_modules())
    after = dict(target.build(config).named_modules())
    rows = []
    for site, setting in sorted(config.items()):
        path = site.rsplit("/", 1)[0]
        old, new = before.get(path), after.get(path)
        rows.append({
            "site": site, "setting": setting.label(),
            "before": _module_text(old) if old is not None else "-",
            "after": _module_text(new) if new is not None else "(removed)",
            "bytes_before": weight_bytes(old) if old is not None else 0,
            "bytes_after": weight_bytes(new) if new is not None else 0,
        })
    return rows


def _module_text(module: Any) -> str:
    """A layer's own repr (type and shapes), or its type alone for a container of layers."""
    text = repr(module)
    return f"{type(module).__name__}(...)" if "\n" in text or len(text) > 160 else text
