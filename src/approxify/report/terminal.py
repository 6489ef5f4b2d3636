"""Plain-text rendering of a result: the frontier table and the certified best."""

from __future__ import annotations

from typing import Any

from .data import model_size, size_text


def _fmt(value: Any, spec: str) -> str:
    try:
        return format(float(value), spec)
    except (TypeError, ValueError):
        return str(value)


def speedup_text(speedup: Any, low: Any = None, high: Any = None) -> str:
    """``1.42x [1.35, 1.49]``: a speedup with its interval (the speedup alone when a result saved
    before intervals has none)."""
    if speedup is None:  # a config dropped early was not timed on held-out inputs
        return "-"
    text = _fmt(speedup, ".2f") + "x"
    if low is None or high is None:
        return text
    return f"{text} [{_fmt(low, '.2f')}, {_fmt(high, '.2f')}]"


def frontier_rows(result: Any) -> list[list[str]]:
    """One row per Pareto config: tuning and held-out figures, certificate verdict."""
    rows = []
    for candidate in result.pareto:
        held = candidate.heldout or {}
        cert = candidate.certificate
        rows.append([
            candidate.describe(),
            _fmt(candidate.tuning["speedup"], ".2f") + "x",
            _fmt(candidate.tuning["mean_loss"], ".4f"),
            speedup_text(held.get("speedup"), held.get("speedup_low"), held.get("speedup_high"))
            if held else "-",
            _fmt(held.get("mean_loss"), ".4f") if held else "-",
            certified_figure(cert),
            verdict(cert),
        ])
    return rows


def verdict(cert: Any) -> str:
    if cert is None:
        return "not tested"  # the fixed sequence ended before it: not measured on held-out inputs
    if cert.holds:
        return "yes"
    if cert.stopped_after is not None:
        return f"no (dropped after {cert.stopped_after})"
    return "no" if cert.tested else "not tested"


def certified_figure(cert: Any) -> str:
    """What the certificate bounds, as printed for the chosen config (valid after selection):
    the mean loss's upper bound, or for a tail the share of inputs certified within it."""
    if cert is None or cert.stopped_after is not None or not cert.tested:
        return "-"
    if cert.quantile is not None:
        share = cert.exceed_selected if cert.family > 1 else cert.exceed_upper
        return f">={_fmt(100 * (1 - share), '.1f')}% <= {cert.tail_bound:g}"
    return _fmt(cert.upper if cert.selected_upper is None else cert.selected_upper, ".4f")


HEADERS = ["config", "speedup (tune)", "loss (tune)", "speedup (held-out)", "loss (held-out)",
           "upper bound (all at once)", "certified"]


def summary_text(result: Any) -> str:
    s = result.settings
    lines = [
        f"approxify: {result.target}  quality={s['quality']}"
        + (f" (capped at {s['loss_cap']})" if s.get("loss_cap") else "")
        + f"  bound={s['bound']}"
        + (f"  quantile={s['quantile']:.0%}" if s.get("quantile") else "")
        + (f"  mean_bound={s['mean_bound']}" if s.get("mean_bound") else "")
        + f"  confidence={s['confidence']:.0%}"
        + (f"  strategy={s['strategy']}" if s.get("strategy", "tpe") != "tpe" else ""),
        f"inputs: {s['tuning']} tuning, {s['heldout']} held-out"
        + (f" ({s['sample_groups']['heldout']} of {s['sample_groups']['groups']} groups)"
           if s.get("sample_groups") else "")
        + f"; {result.stats['trials']} search "
        f"trials, {result.stats['evaluations']} evaluations, {result.stats['wall_seconds']:.1f} s",
        "",
    ]
    if result.changed:  # above the figures: they were measured on another version of the target
        lines[:0] = [f"WARNING: {result.provenance()}", ""]
    rows = frontier_rows(result)
    if rows:
        widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(HEADERS)]
        lines.append("  ".join(h.ljust(w) for h, w in zip(HEADERS, widths)))
        lines += ["  ".join(c.ljust(w) for c, w in zip(r, widths)) for r in rows]
    else:
        lines.append("(no configuration within the bound on the tuning inputs)")
    lines.append("")
    best = result.best
    if best.is_exact:
        lines.append("best: the exact program")
    else:
        lines.append(f"best: {best.describe()}")
        timing = (best.heldout or {}).get("timing") or {}
        covered = timing.get("coverage") is not None and best.speedup_low is not None
        interval = f", {_fmt(timing['coverage'], '.0%')} interval" if covered else ""
        paired = f" (median of {timing['repeats']} paired runs{interval})" if timing.get("repeats") else ""
        shown = speedup_text(best.speedup, best.speedup_low, best.speedup_high)
        lines.append(f"  speedup {shown} on held-out inputs{paired}")
    if best.certificate is not None:
        lines.append("  " + best.certificate.statement())
    lines += size_lines(result)
    lines += effect_lines(result.effects)
    lines += guard_lines((best.heldout or {}).get("guards") or {})
    lines += result.notes
    if result.stats.get("heldout_saved"):
        lines.append(f"held-out: {result.stats['heldout_saved']} of {result.stats['heldout_total']} "
                     "losses not measured (configs dropped early or after the first that did not hold)")
    if result.skipped:
        lines.append(f"calls not followed: {len(result.skipped)} (their callees run as written; "
                     "the report and ax.sites list each with the reason)")
    if not result.changed and result.provenance():
        lines.append(f"note: {result.provenance()}")
    return "\n".join(lines)


def size_lines(result: Any) -> list[str]:
    """A model's stored bytes, the best variant's beside the exact model's (and the limit asked)."""
    size = model_size(result)
    return [f"  {size_text(size)}"] if size else []


def guard_lines(guards: dict[str, dict[str, int]]) -> list[str]:
    """How often each substituted call fell back to the exact function (held-out inputs)."""
    lines = []
    for site, counts in sorted(guards.items()):
        values, fallbacks = counts["values"], counts["fallbacks"]
        share = f" ({fallbacks / values:.1%})" if values else ""
        lines.append(f"  guard: {site} ran the exact function for {fallbacks} of {values} values{share}")
    return lines


def effect_lines(effects: list[dict[str, Any]]) -> list[str]:
    """What each part of the best config does, measured on the tuning inputs."""
    if not effects:
        return []
    lines = ["  effect of each change (tuning inputs; speedup and mean loss):"]
    for row in effects:
        sites = row["sites"]
        name = sites[0] if len(sites) == 1 else f"{sites[0]} and {len(sites) - 1} linked"
        parts = []
        if row.get("without"):
            w, o = row["with"], row["without"]
            parts.append(f"without it {o['speedup']:.2f}x / {o['mean_loss']:.3g} "
                         f"(with it {w['speedup']:.2f}x / {w['mean_loss']:.3g})")
        if row.get("alone"):
            parts.append(f"alone {row['alone']['speedup']:.2f}x / {row['alone']['mean_loss']:.3g}")
        if parts:
            lines.append(f"    {name} -> {row['setting']}: " + "; ".join(parts))
    if len(lines) == 1:
        return [f"  ({len(effects)} separate changes: the effect of each alone was not measured)"]
    return lines
