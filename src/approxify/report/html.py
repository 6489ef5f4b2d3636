"""The report as one self-contained HTML file: the data of :func:`.data.report_data` laid out,
with the trade-off plot drawn by matplotlib as inline SVG (no scripts, no files beside it)."""

from __future__ import annotations

import io
from html import escape
from typing import Any

from .data import size_text
from .terminal import speedup_text

_STYLE = """
body { font-family: system-ui, sans-serif; margin: 2em auto; max-width: 70em; color: #222; }
h1 { font-size: 1.5em; } h2 { font-size: 1.2em; margin-top: 2em; border-bottom: 1px solid #ccc; }
table { border-collapse: collapse; font-size: 0.9em; }
th, td { border: 1px solid #ddd; padding: 0.25em 0.6em; text-align: left; vertical-align: top; }
th { background: #f4f4f4; } td.num { text-align: right; font-variant-numeric: tabular-nums; }
.box { background: #f6f8fa; border: 1px solid #d0d7de; padding: 0.8em 1em; }
.yes { color: #1a7f37; font-weight: bold; } .no { color: #cf222e; font-weight: bold; }
.warn { background: #fff1f0; border-color: #cf222e; }
pre { background: #f6f8fa; padding: 0.8em; overflow-x: auto; font-size: 0.85em; }
.add { color: #1a7f37; } .del { color: #cf222e; } .hunk { color: #8250df; }
figure { margin: 1em 0; } figure svg { max-width: 100%; height: auto; }
"""


def render(data: dict[str, Any]) -> str:
    """The HTML page of a report. Everything that comes from data goes through ``_e`` (or a
    table, which escapes its cells): a field holding markup shows as text, never runs."""
    s = data["settings"]
    stats = data["stats"]
    best = data["best"]
    title = f"approxify report: {data['target']}"
    cap = f", each input's loss capped at {_text(s['loss_cap'], 'g')}" if s.get("loss_cap") else ""
    parts = [
        f"<h1>{escape(title)}</h1>",
        _provenance(data),
        f"<p>Quality <b>{_e(s['quality'])}</b>{_e(cap)}, bound <b>{_e(s['bound'], 'g')}</b> "
        f"at {_e(s['confidence'], '.0%')} confidence; cost {_e(s.get('cost'))}; "
        f"{_e(s['tuning'])} tuning and {_e(s['heldout'])} held-out inputs; "
        f"{_e(stats['evaluations'])} evaluations in {_e(stats['wall_seconds'], '.1f')} s.</p>",
        '<div class="box">',
        f"<p><b>Best:</b> {_e(best['config'])}</p>",
        "" if best["exact"] else
        f"<p><b>Speedup</b> {_speedup(best)}, mean loss "
        f"{_e(best['mean_loss'], '.4g')}; certified: {_verdict(best['certified'])}</p>",
        f"<p>{_e(data['certificate_text'])}</p>",
        _size(data.get("size")),
        "</div>",
        "<h2>Trade-off</h2>",
        f"<figure>{tradeoff_svg(data)}<figcaption>Speedup against mean loss. Grey: configs measured "
        "while tuning (tuning inputs). Coloured: the configs sent to certification, at their "
        "held-out figures, the line reaching to the certified upper bound of the mean loss, the "
        "vertical one spanning the speedup's interval "
        "(green: certified, red: not). Star: the best. Dashed: the bound.</figcaption></figure>",
        "<h2>Reliability and failures (held-out inputs, best config)</h2>",
        _reliability_table(data["reliability"]),
        "<h2>Each site alone (tuning inputs)</h2>",
        _table(["site", "setting", "speedup", "mean loss", "failures", "searched"],
               [[r["site"], r["setting"], _x(r["speedup"]), _g(r["mean_loss"]), str(r["failures"]),
                 "yes" if r["kept"] else f"no: {r['reason']}" if r.get("reason") else "no"]
                for r in data["sensitivity"]], numeric={2, 3, 4}),
    ]
    if data["effects"]:
        parts += ["<h2>Effect of each part of the best config (tuning inputs)</h2>", _effects(data["effects"])]
    if data["guards"]:
        parts += ["<h2>Substitution guards (held-out inputs)</h2>",
                  _table(["site", "values", "fell back to the exact function"],
                         [[site, str(g["values"]), str(g["fallbacks"])] for site, g in sorted(data["guards"].items())],
                         numeric={1, 2})]
    parts += ["<h2>The change</h2>", _change(data["change"])]
    if data.get("skipped"):
        parts += ["<h2>Calls not followed</h2>",
                  "<p>Calls in the lifted code whose callee approxify did not lift (it runs as "
                  "written in every variant), and why.</p>",
                  _table(["in", "where", "call", "why"],
                         [[k["function"], k["where"], k["call"] + "(...)", k["reason"]]
                          for k in data["skipped"]])]
    if data["notes"]:
        parts += ["<h2>Notes</h2>", "<ul>" + "".join(f"<li>{_e(n)}</li>" for n in data["notes"]) + "</ul>"]
    env = data.get("environment") or {}
    parts.append("<p><small>" + escape(", ".join(f"{k}: {v}" for k, v in env.items() if not isinstance(v, dict)))
                 + "</small></p>")
    body = "\n".join(p for p in parts if p)
    return (f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8"><title>{escape(title)}</title>'
            f"<style>{_STYLE}</style></head><body>\n{body}\n</body></html>\n")


def tradeoff_svg(data: dict[str, Any]) -> str:
    """The trade-off plot as an inline ``<svg>`` element."""
    fig = tradeoff_figure(data)  # first: it says what to install when matplotlib is missing
    import matplotlib

    buffer = io.StringIO()
    with matplotlib.rc_context({"svg.fonttype": "none"}):  # text as text: small, searchable
        fig.savefig(buffer, format="svg")
    svg = buffer.getvalue()
    return svg[svg.index("<svg"):]


def tradeoff_figure(data: dict[str, Any]) -> Any:
    """The trade-off plot: a matplotlib ``Figure``."""
    try:
        from matplotlib.figure import Figure  # no pyplot: no global state, no display needed
    except ImportError:
        raise ImportError(
            "the HTML report draws its plot with matplotlib, which is not installed; install the "
            "report extra: pip install 'approxify[report]'"
        ) from None
    bound = data["settings"]["bound"]
    points = data["tradeoff"]
    fig = Figure(figsize=(7.5, 4.5))
    ax = fig.add_subplot()
    searched = [p for p in points if not p["front"] and p["mean_loss"] is not None]
    ax.scatter([p["mean_loss"] for p in searched], [p["speedup"] for p in searched], s=14,
               color="#aaaaaa", label="measured while tuning", zorder=2)
    for p in points:
        if not p["front"] or p["heldout_loss"] is None:
            continue
        color = "#1a7f37" if p["certified"] else "#cf222e"
        # a config dropped early was not timed on held-out inputs: drawn at its tuning speedup
        speedup = p["heldout_speedup"] if p["heldout_speedup"] is not None else p["speedup"]
        if p["upper"] is not None:
            ax.plot([p["heldout_loss"], p["upper"]], [speedup] * 2, color=color,
                    linewidth=1, zorder=3)
        if p.get("heldout_speedup_low") is not None and p.get("heldout_speedup_high") is not None:
            ax.plot([p["heldout_loss"]] * 2, [p["heldout_speedup_low"], p["heldout_speedup_high"]],
                    color=color, linewidth=1, zorder=3)
        ax.scatter([p["heldout_loss"]], [speedup], s=120 if p["best"] else 30,
                   marker="*" if p["best"] else "o", color=color, zorder=4)
    for certified, color in ((True, "#1a7f37"), (False, "#cf222e")):  # legend entries only
        if any(p["front"] and p["certified"] == certified and p["heldout_loss"] is not None for p in points):
            ax.scatter([], [], color=color, s=30,
                       label=f"{'certified' if certified else 'not certified'} (held-out, to upper bound)")
    ax.scatter([0.0], [1.0], marker="s", color="black", s=24, label="exact", zorder=4)
    ax.axvline(bound, color="black", linestyle="--", linewidth=1, label=f"bound {bound:g}")
    losses = [v for p in points for v in (p["mean_loss"], p["heldout_loss"], p["upper"]) if v]
    if losses and min(losses) < bound / 20:  # losses spanning decades: linear near 0, log above
        ax.set_xscale("symlog", linthresh=min(losses))
    ax.set_xlim(left=0.0)  # losses are never negative
    ax.set_xlabel(f"mean loss ({data['settings']['quality']})")
    ax.set_ylabel("speedup (x)")
    ax.grid(True, alpha=0.3)
    ax.legend(loc="best", fontsize="small")
    fig.tight_layout()
    return fig


def _provenance(data: dict[str, Any]) -> str:
    """A warning above everything when the certificate does not apply to the code as it is."""
    text = data.get("provenance")
    if not text:
        return ""
    lead = "Not certified for this version." if data.get("changed") else "Note."
    return f'<div class="box warn"><p><b>{lead}</b> {_e(text)}</p></div>'


def _speedup(best: dict[str, Any]) -> str:
    """The best speedup with its interval (escaped), and what the interval is."""
    text = escape(speedup_text(best["speedup"], best.get("speedup_low"), best.get("speedup_high")))
    if best.get("speedup_low") is None:  # a result saved before intervals
        return f"{text} on held-out inputs"
    return f"{text} on held-out inputs (a 90% interval for the median paired ratio)"


def _verdict(ok: bool) -> str:
    return '<span class="yes">yes</span>' if ok else '<span class="no">no</span>'


def _text(value: Any, spec: str = "") -> str:
    """A number formatted by ``spec``; anything else (a field a person edited) as its text."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return format(value, spec)
    return str(value)


def _e(value: Any, spec: str = "") -> str:
    """``_text``, escaped for HTML."""
    return escape(_text(value, spec))


def _x(value: Any) -> str:
    return "-" if value is None else _text(value, ".2f") + "x"


def _g(value: Any) -> str:
    return "-" if value is None else _text(value, ".4g")


def _table(headers: list[str], rows: list[list[str]], *, numeric: set[int] = frozenset()) -> str:
    if not rows:
        return "<p>(none)</p>"
    head = "".join(f"<th>{escape(h)}</th>" for h in headers)
    body = "".join(
        "<tr>" + "".join(f'<td{" class=num" if i in numeric else ""}>{escape(c)}</td>'
                         for i, c in enumerate(row)) + "</tr>"
        for row in rows)
    return f"<table><tr>{head}</tr>{body}</table>"


def _size(size: dict[str, Any] | None) -> str:
    """A model's stored size, the best variant's beside the exact model's."""
    if not size:
        return ""
    text = size_text(size)
    return f"<p><b>Size</b>{_e(text[len('size'):])}</p>"


def _reliability_table(r: dict[str, Any]) -> str:
    if not r["n"]:
        return "<p>No held-out figures: the best program is the exact one.</p>"
    share = "-" if r["identical_share"] is None else _text(r["identical_share"], ".1%")
    kinds = ", ".join(r["failure_kinds"]) or "none"
    return _table(["held-out " + r["unit"], "identical output", "failures", "failure kinds",
                   "largest loss", "95th percentile loss"],
                  [[_text(r["n"]), f"{r['identical']} ({share})", _text(r["failures"]), kinds,
                    _g(r["max_loss"]), _g(r["p95_loss"])]], numeric={0, 2, 4, 5})


def _effects(effects: list[dict[str, Any]]) -> str:
    rows = []
    for e in effects:
        alone, without = e.get("alone") or {}, e.get("without") or {}
        rows.append([", ".join(e["sites"]), str(e["setting"]),
                     _x(alone.get("speedup")), _g(alone.get("mean_loss")),
                     _x(without.get("speedup")), _g(without.get("mean_loss"))])
    return _table(["sites", "setting", "alone: speedup", "alone: loss", "best without it: speedup",
                   "best without it: loss"], rows, numeric={2, 3, 4, 5})


def _change(change: dict[str, Any]) -> str:
    if change["kind"] == "layers":
        return _table(["site", "setting", "module before", "module after", "bytes before", "bytes after"],
                      [[r["site"], r["setting"], r["before"], r["after"], _text(r["bytes_before"], ".0f"),
                        _text(r["bytes_after"], ".0f")] for r in change["rows"]], numeric={4, 5})
    if change["kind"] != "diff":
        return f"<p>{_e(change['text'])}</p>"
    lines = []
    for line in change["text"].splitlines():
        kind = ("hunk" if line.startswith("@@") else "add" if line.startswith("+")
                else "del" if line.startswith("-") else "")
        text = escape(line)
        lines.append(f'<span class="{kind}">{text}</span>' if kind else text)
    return "<pre>" + "\n".join(lines) + "</pre>"
