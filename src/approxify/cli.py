"""Command line: a thin layer over the public API.

    approxify sites mypkg.kernels:estimate
    approxify tune mypkg.kernels:estimate --inputs mypkg.kernels:make_inputs --bound 0.05 --out r.json
    approxify show r.json
    approxify export r.json --out estimate_fast.py
    approxify report r.json --out r.html
    approxify bench --quick
    approxify demo
"""

from __future__ import annotations

import argparse
import importlib
import inspect
import json
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ._api import approximate, load, sites
from .config import Budget
from .demo import run_demo
from .errors import ApproxifyError, InvalidArgument
from .report.result import finite_json

# where an editable install from a source checkout keeps the package: <checkout>/src/approxify/
SOURCE_CHECKOUT = Path(__file__).resolve().parents[2]
NO_SUITE = ("the benchmark suite lives in a source checkout of approxify (benchmarks/); "
            "run approxify bench from the checkout's root, or make bench")


def _resolve(reference: str, *, what: str) -> Any:
    """Import ``module:attribute`` (the current directory is importable, as with python -m)."""
    module_name, sep, attribute = reference.partition(":")
    if not sep or not module_name or not attribute:
        raise InvalidArgument(
            f"{what} must look like module:name (e.g. mypkg.kernels:estimate), got {reference!r}."
        )
    if os.getcwd() not in sys.path:
        sys.path.insert(0, os.getcwd())
    try:
        obj: Any = importlib.import_module(module_name)
    except ImportError as exc:
        raise InvalidArgument(f"{what}: cannot import module {module_name!r} ({exc}).") from None
    for part in attribute.split("."):
        try:
            obj = getattr(obj, part)
        except AttributeError:
            raise InvalidArgument(f"{what}: module {module_name!r} has no {attribute!r}.") from None
    return obj


def _inputs(reference: str) -> Any:
    value = _resolve(reference, what="--inputs")
    if not callable(value):
        return value
    required = [p.name for p in inspect.signature(value).parameters.values()
                if p.default is p.empty and p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    if required:
        raise InvalidArgument(
            f"--inputs {reference} needs arguments ({', '.join(required)}); name a list of inputs "
            "or a function that takes none (e.g. one that calls it with the count you want)."
        )
    return value()


def _calls(references: list[str]) -> list[Any]:
    return [_resolve(r, what="--call") for r in references]


def cmd_sites(args: argparse.Namespace) -> int:
    examples = _inputs(args.inputs)[: args.examples] if args.inputs else None
    found = sites(_resolve(args.target, what="target"), families=args.family or None,
                  select=args.select or None, modules=args.module, example_inputs=examples,
                  calls=_calls(args.call))
    for site in found:
        print(site)
    if not found:
        print("no sites found", file=sys.stderr)
    return 0


def cmd_tune(args: argparse.Namespace) -> int:
    fn = _resolve(args.target, what="target")
    quality = args.quality if ":" not in args.quality else _resolve(args.quality, what="--quality")
    result = approximate(
        fn, _inputs(args.inputs), quality=quality, bound=args.bound, confidence=args.confidence,
        families=args.family or None, select=args.select or None,
        budget=Budget(trials=args.trials, seconds=args.seconds), storage=args.storage,
        holdout=args.holdout, seed=args.seed, modules=args.module, progress=not args.quiet,
        loss_cap=args.loss_cap, strategy=args.strategy, grouping=args.grouping,
        calls=_calls(args.call),
    )
    print(result.summary())
    if args.out:
        print(f"\nresult written to {result.save(args.out)}")
    return 0


def cmd_show(args: argparse.Namespace) -> int:
    print(load(args.result).summary())
    return 0


def cmd_export(args: argparse.Namespace) -> int:
    result = load(args.result)
    text = result.source()
    if args.out:
        Path(args.out).write_text(text)
        print(f"approximated source of {result.target} written to {args.out}")
    else:
        print(text, end="")
    return 0


def cmd_report(args: argparse.Namespace) -> int:
    result = load(args.result)
    out = Path(args.out) if args.out else Path(args.result).with_suffix(".html")
    if args.data:
        Path(args.data).write_text(json.dumps(finite_json(result.report_data()), indent=2) + "\n")
    try:
        result.report(out)
    except ImportError as exc:  # matplotlib missing: the message says what to install
        print(f"approxify: error: {exc}", file=sys.stderr)
        return 2
    print(f"report of {result.target} written to {out}")
    return 0


def _suite_checkout() -> Path | None:
    """The source checkout whose ``benchmarks/`` to run: the current directory, else the one
    this package was installed from in editable mode; None outside a checkout."""
    for folder in (Path.cwd(), SOURCE_CHECKOUT):
        if (folder / "benchmarks" / "__main__.py").is_file():
            return folder
    return None


def cmd_bench(args: argparse.Namespace) -> int:
    checkout = _suite_checkout()
    if checkout is None:
        print(f"approxify: error: {NO_SUITE}", file=sys.stderr)
        return 2
    if str(checkout) not in sys.path:
        sys.path.insert(0, str(checkout))
    bench_main = importlib.import_module("benchmarks.__main__").main
    argv = ["--command", "approxify bench " + " ".join(args.raw)]
    if not args.all:  # the suite's programs and networks; --all adds what make bench runs besides
        argv += ["--no-overhead", "--no-precision", "--no-substitute"]
    argv += ["--quick"] if args.quick else []
    argv += ["--only", args.only] if args.only else []
    argv += ["--out", args.out] if args.out else []
    argv += ["--json", args.json] if args.json else []
    argv += ["--jobs", args.jobs] if args.jobs else []
    return bench_main(argv)


def cmd_demo(args: argparse.Namespace) -> int:
    return run_demo(quick=args.quick, out=Path(args.out) if args.out else None)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="approxify", description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)

    def selection(p: argparse.ArgumentParser) -> None:
        p.add_argument("--family", action="append", help="keep sites of this family (repeatable)")
        p.add_argument("--select", action="append", help="site id or glob pattern (repeatable)")
        p.add_argument("--module", action="append", default=[],
                       help="extra module whose functions count as user code (repeatable)")
        p.add_argument("--call", action="append", default=[],
                       help="module:function whose calls may be substituted (repeatable)")

    p = commands.add_parser("sites", help="list the approximation sites of a function")
    p.add_argument("target", help="module:function")
    p.add_argument("--inputs", default=None,
                   help="module:name of inputs to profile (finds float variables: precision sites)")
    p.add_argument("--examples", type=int, default=3, help="how many of --inputs to run (default 3)")
    selection(p)
    p.set_defaults(run=cmd_sites)

    p = commands.add_parser("tune", help="search and certify the fastest config under a bound")
    p.add_argument("target", help="module:function")
    p.add_argument("--inputs", required=True,
                   help="module:name of a list of inputs, or of a function returning one")
    p.add_argument("--quality", default="rel_l2", help="rel_l2, mean_rel, mismatch, or module:function")
    p.add_argument("--bound", type=float, default=0.05, help="mean loss bound (default 0.05)")
    p.add_argument("--confidence", type=float, default=0.95, help="default 0.95")
    p.add_argument("--trials", type=int, default=100, help="search trials (default 100)")
    p.add_argument("--seconds", type=float, default=None, help="wall-clock cap on the search")
    p.add_argument("--holdout", type=float, default=0.5, help="share of inputs held out")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--storage", default=None, help="Optuna storage URL, e.g. sqlite:///study.db")
    p.add_argument("--loss-cap", type=float, default=None,
                   help="cap each input's loss (small bounds certify from fewer inputs)")
    p.add_argument("--strategy", choices=["tpe", "delta", "random", "exhaustive"], default="tpe",
                   help="tpe: Optuna search; delta: delta debugging over sites to lower; "
                        "random: uniform random configs (a baseline); exhaustive: every config")
    p.add_argument("--grouping", choices=["flow", "blocks", "none"], default=None,
                   help="flow (programs' default): tune float variables linked by data flow "
                        "together; blocks (models' default): a layer of repeated blocks together")
    p.add_argument("--out", default=None, help="write the result as JSON")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    selection(p)
    p.set_defaults(run=cmd_tune)

    p = commands.add_parser("show", help="summarise a saved result")
    p.add_argument("result")
    p.set_defaults(run=cmd_show)

    p = commands.add_parser("export", help="write the best variant's Python source")
    p.add_argument("result")
    p.add_argument("--out", default=None, help="file to write (default: print)")
    p.set_defaults(run=cmd_export)

    p = commands.add_parser("report", help="write a self-contained HTML report of a saved result")
    p.add_argument("result")
    p.add_argument("--out", default=None, help="HTML file to write (default: the result's path with .html)")
    p.add_argument("--data", default=None, help="also write the report's data as JSON to this file")
    p.set_defaults(run=cmd_report)

    p = commands.add_parser("bench", help="run the benchmark suite of a source checkout: programs and networks tuned beside baselines")
    p.add_argument("--quick", action="store_true", help="few inputs and trials, one bound (minutes)")
    p.add_argument("--only", default=None,
                   help="comma-separated programs and networks of the suite (e.g. sobel,digits-mlp)")
    p.add_argument("--all", action="store_true", help="also the other sections of make bench (tens of minutes)")
    p.add_argument("--out", default=None, help="Markdown file to write (default: print)")
    p.add_argument("--json", default=None, help="also write the figures as JSON")
    p.add_argument("--jobs", default=None, choices=["1", "2"],
                   help="programs and networks at the same time (2, the default) or one after the other (1)")
    p.set_defaults(run=cmd_bench)

    p = commands.add_parser("demo", help="tune the built-in examples and show the results")
    p.add_argument("--quick", action="store_true", help="fewer inputs and trials (seconds)")
    p.add_argument("--out", default=None, help="folder for the results and exported source")
    p.set_defaults(run=cmd_demo)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    args.raw = list(argv if argv is not None else sys.argv[1:])[1:]  # as typed, after the command
    try:
        return args.run(args)
    except ApproxifyError as exc:
        print(f"approxify: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("approxify: interrupted; rerun the same command with --storage to resume.",
              file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
