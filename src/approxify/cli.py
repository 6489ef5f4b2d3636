"""Command line: a thin layer over the public API.

    approxify sites mypkg.kernels:estimate
    approxify tune mypkg.kernels:estimate --inputs mypkg.kernels:make_inputs --bound 0.05 --out r.json
    approxify show r.json
    approxify export r.json --out estimate_fast.py
    approxify export model.json --out net.pt2 --inputs mypkg.data:batches
    approxify report r.json --out r.html
    approxify bench --quick
    approxify demo

Every error is one line, ``approxify: error: <message>``, on stderr, with no traceback unless
``--debug`` comes before the command. Exit status: 0 done, 1 the work failed (the user's code
raised, a file cannot be read or written, the target changed since it was certified), 2 the
command line is wrong (an unknown option, a bad value, a module or name that does not exist),
130 interrupted.
"""

from __future__ import annotations

import argparse
import importlib
import inspect
import json
import os
import sys
import traceback
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ._api import approximate, load, sites
from .config import Budget
from .demo import run_demo
from .errors import ApproxifyError, InvalidArgument, InvalidArgumentType, UnsupportedTarget
from .report.export_model import SUFFIXES, check_model_path, export_model
from .report.result import finite_json

# where an editable install from a source checkout keeps the package: <checkout>/src/approxify/
SOURCE_CHECKOUT = Path(__file__).resolve().parents[2]
NO_SUITE = ("the benchmark suite lives in a source checkout of approxify (benchmarks/); "
            "run approxify bench from the checkout's root, or make bench")


# usage errors (exit 2): what the command line says is wrong in itself
USAGE_ERRORS = (InvalidArgument, InvalidArgumentType, UnsupportedTarget)
DEBUG_HINT = "run with approxify --debug ... for the traceback"


class CommandFailed(Exception):
    """The work failed for a reason outside approxify: the user's module or function raised, a
    file cannot be written (exit 1; the message says which and why)."""


class _Parser(argparse.ArgumentParser):
    """argparse, its errors in the form of every other: ``approxify: error: ...``, exit 2."""

    def error(self, message: str) -> Any:
        self.print_usage(sys.stderr)
        command = self.prog.removeprefix("approxify").strip()
        self.exit(2, f"approxify: error: {command + ': ' if command else ''}{message}\n")


def _resolve(reference: str, *, what: str) -> Any:
    """Import ``module:attribute`` (the current directory is importable, as with python -m)."""
    module_name, sep, attribute = reference.partition(":")
    if not sep or not module_name or not attribute:
        raise InvalidArgument(
            f"{what} must look like module:name (e.g. mypkg.kernels:estimate), got {reference!r}."
        )
    _cwd_importable()
    obj = _import_module(module_name, what=what)
    for part in attribute.split("."):
        try:
            obj = getattr(obj, part)
        except AttributeError:
            raise InvalidArgument(f"{what}: module {module_name!r} has no {attribute!r}.") from None
    return obj


def _cwd_importable() -> None:
    """The current directory importable, as with python -m: targets and inputs named
    module:name are found there, and so is the target a saved result names."""
    if os.getcwd() not in sys.path:
        sys.path.insert(0, os.getcwd())


def _load(path: str, *, allow_changed: bool = False) -> Any:
    """The saved result; its target is imported from the current directory as tune found it."""
    _cwd_importable()
    return load(path, allow_changed=allow_changed)


def _import_module(name: str, *, what: str) -> Any:
    """The module ``name``: one that does not exist is a usage error; one whose own code fails
    (a syntax error, an import of its own that fails, any exception) is a failure of that code."""
    try:
        return importlib.import_module(name)
    except Exception as exc:
        missing = getattr(exc, "name", None) if isinstance(exc, ModuleNotFoundError) else None
        if missing is not None and (name == missing or name.startswith(missing + ".")):
            raise InvalidArgument(f"{what}: cannot import module {name!r} ({exc}); check the "
                                  "name, and run from the folder it is importable from.") from None
        raise CommandFailed(f"{what}: importing module {name!r} failed: {_described(exc)}; "
                            f"fix the module ({DEBUG_HINT}).") from exc


def _described(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"


def _inputs(reference: str, *, what: str = "--inputs") -> Any:
    """What ``module:name`` names: a list, or what a function taking no arguments returns."""
    value = _resolve(reference, what=what)
    if not callable(value):
        return value
    required = [p.name for p in inspect.signature(value).parameters.values()
                if p.default is p.empty and p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    if required:
        raise InvalidArgument(
            f"{what} {reference} needs arguments ({', '.join(required)}); name a list "
            "or a function that takes none (e.g. one that calls it with the count you want)."
        )
    try:
        return value()
    except Exception as exc:
        raise CommandFailed(f"{what} {reference}: calling it raised {_described(exc)}; fix the "
                            f"function ({DEBUG_HINT}).") from exc


def _writable(path: str, *, what: str) -> Path:
    """``path``, checked writable before the work whose outcome goes there (a finished tuning
    must never be lost to a typo in --out). A file that did not exist is not left behind."""
    out = Path(path)
    if out.is_dir():
        raise CommandFailed(f"{what} {path!r} is a folder; name a file to write.")
    if not out.parent.is_dir():
        raise CommandFailed(f"{what} {path!r}: the folder {str(out.parent)!r} does not exist; "
                            "create it, or name a file in a folder that exists.")
    existed = out.exists()
    try:
        with out.open("a"):
            pass
    except OSError as exc:
        raise CommandFailed(f"{what} {path!r} cannot be written ({exc.strerror}); name a file "
                            "you can write.") from None
    if not existed:
        out.unlink()
    return out


def _calls(references: list[str]) -> list[Any]:
    return [_resolve(r, what="--call") for r in references]


def cmd_sites(args: argparse.Namespace) -> int:
    examples = _inputs(args.inputs)[: args.examples] if args.inputs else None
    found = sites(_resolve(args.target, what="target"), families=args.family or None,
                  select=args.select or None, modules=args.module, example_inputs=examples,
                  calls=_calls(args.call), exclude=args.exclude)
    print(found.table())
    if not found:
        print("no sites found", file=sys.stderr)
    return 0


def cmd_tune(args: argparse.Namespace) -> int:
    out = _writable(args.out, what="--out") if args.out else None
    fn = _resolve(args.target, what="target")
    quality = args.quality if ":" not in args.quality else _resolve(args.quality, what="--quality")
    result = approximate(
        fn, _inputs(args.inputs), quality=quality, bound=args.bound, confidence=args.confidence,
        families=args.family or None, select=args.select or None,
        budget=Budget(trials=args.trials, seconds=args.seconds), storage=args.storage,
        holdout=args.holdout, seed=args.seed, modules=args.module, progress=not args.quiet,
        loss_cap=args.loss_cap, strategy=args.strategy, grouping=args.grouping,
        calls=_calls(args.call), quantile=args.quantile, mean_bound=args.mean_bound,
        groups=_inputs(args.groups, what="--groups") if args.groups else None, min_gain=args.min_gain,
        exclude=args.exclude, max_bytes=args.max_bytes,
    )
    if result.is_model:  # its reference names its class: loading imports the model by this name
        result.imported_as = args.target
    print(result.summary())
    if out is not None:
        print(f"\nresult written to {result.save(out)}")
    return 0


def cmd_show(args: argparse.Namespace) -> int:
    print(_load(args.result).summary())
    return 0


def cmd_export(args: argparse.Namespace) -> int:
    result = _load(args.result, allow_changed=args.allow_changed)
    if result.is_model:
        return _export_model(result, args)
    if args.inputs:
        raise InvalidArgument(f"--inputs is for a model result; {result.target} is a Python function, "
                              "whose variant is written as source: drop --inputs.")
    if args.out and Path(args.out).suffix.lower() in SUFFIXES:
        raise InvalidArgument(f"--out {args.out!r} names a model file, but {result.target} is a Python "
                              "function, whose variant is source: name a .py file, e.g. --out fast.py.")
    out = _writable(args.out, what="--out") if args.out else None
    text = result.source()
    if out is not None:
        out.write_text(text)
        print(f"approximated source of {result.target} written to {out}")
    else:
        print(text, end="")
    return 0


def _export_model(result: Any, args: argparse.Namespace) -> int:
    """A model result: its variant written to a file torch alone loads, checked on --inputs."""
    if not args.out:
        raise InvalidArgument(f"{result.target} is a model: name the file to write with --out "
                              "(net.pt2: torch.export, preferred; net.pt: TorchScript).")
    out = _writable(str(check_model_path(args.out, what="--out")), what="--out")
    if not args.inputs:
        raise InvalidArgument(f"{result.target} is a model: name example inputs with --inputs module:name "
                              "(as for tune; the file is traced and checked on a few of them).")
    written = export_model(result.program(), out, _inputs(args.inputs), what="--out")
    print(f"approximated model of {result.target} ({result.best.describe()}) {written.describe()}")
    return 0


def cmd_report(args: argparse.Namespace) -> int:
    result = _load(args.result, allow_changed=args.allow_changed)
    out = _writable(args.out or str(Path(args.result).with_suffix(".html")), what="--out")
    data = _writable(args.data, what="--data") if args.data else None
    if data is not None:
        data.write_text(json.dumps(finite_json(result.report_data()), indent=2) + "\n")
    result.report(out)
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
        argv += ["--no-overhead", "--no-isolation", "--no-statistics", "--no-precision", "--no-substitute",
                 "--no-reach", "--no-arrays"]
    argv += ["--quick"] if args.quick else []
    argv += ["--only", args.only] if args.only else []
    argv += ["--out", args.out] if args.out else []
    argv += ["--json", args.json] if args.json else []
    argv += ["--jobs", args.jobs] if args.jobs else []
    return bench_main(argv)


def cmd_demo(args: argparse.Namespace) -> int:
    return run_demo(quick=args.quick, out=Path(args.out) if args.out else None)


def _parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="approxify", description=__doc__.split("\n\n")[0])
    parser.add_argument("--debug", action="store_true", help="print the traceback of an error")
    commands = parser.add_subparsers(dest="command", required=True)
    changed = "build even if the target changed since the result was certified (marked uncertified)"

    def selection(p: argparse.ArgumentParser) -> None:
        p.add_argument("--family", action="append", help="keep sites of this family (repeatable)")
        p.add_argument("--select", action="append", help="site id or glob pattern (repeatable)")
        p.add_argument("--exclude", action="append", default=[],
                       help="site id or glob pattern to leave exact, e.g. '*/reduce#*' (repeatable)")
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
    p.add_argument("--bound", type=float, default=0.05,
                   help="mean loss bound (default 0.05); with --quantile, the tail's loss bound")
    p.add_argument("--quantile", type=float, default=None,
                   help="certify a tail instead: at least this share of inputs (e.g. 0.95) "
                        "have loss <= --bound")
    p.add_argument("--mean-bound", type=float, default=None,
                   help="with --quantile, a mean loss bound to certify as well")
    p.add_argument("--confidence", type=float, default=0.95, help="default 0.95")
    p.add_argument("--trials", type=int, default=100, help="search trials (default 100)")
    p.add_argument("--seconds", type=float, default=None, help="wall-clock cap on the search")
    p.add_argument("--holdout", type=float, default=0.5, help="share of inputs held out")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--storage", default=None, help="Optuna storage URL, e.g. sqlite:///study.db")
    p.add_argument("--loss-cap", type=float, default=None,
                   help="cap each input's loss (small bounds certify from fewer inputs)")
    p.add_argument("--max-bytes", type=float, default=None,
                   help="a model: variants whose weights take more bytes are not chosen")
    p.add_argument("--min-gain", type=float, default=0.05,
                   help="share by which a config must be certified faster than the one it "
                        "replaces (default 0.05: 5%%)")
    p.add_argument("--strategy", choices=["tpe", "delta", "random", "exhaustive"], default="tpe",
                   help="tpe: Optuna search; delta: delta debugging over sites to lower; "
                        "random: uniform random configs (a baseline); exhaustive: every config")
    p.add_argument("--grouping", choices=["flow", "blocks", "none"], default=None,
                   help="flow (programs' default): tune float variables linked by data flow "
                        "together; blocks (models' default): a layer of repeated blocks together")
    p.add_argument("--groups", default=None,
                   help="module:name of the inputs' group labels (a list, or a function returning "
                        "one): dependent inputs, kept on one side of the split, certified per group")
    p.add_argument("--out", default=None, help="write the result as JSON")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    selection(p)
    p.set_defaults(run=cmd_tune)

    p = commands.add_parser("show", help="summarise a saved result")
    p.add_argument("result")
    p.set_defaults(run=cmd_show)

    p = commands.add_parser("export", help="write the best variant: a function's Python source, or a "
                                           "model as a file torch alone loads")
    p.add_argument("result")
    p.add_argument("--out", default=None,
                   help="file to write (a function's source: default print; a model: .pt2 for "
                        "torch.export, .pt for TorchScript, .onnx)")
    p.add_argument("--inputs", default=None,
                   help="a model: module:name of example inputs (as for tune) to trace and check on")
    p.add_argument("--allow-changed", action="store_true", help=changed)
    p.set_defaults(run=cmd_export)

    p = commands.add_parser("report", help="write a self-contained HTML report of a saved result")
    p.add_argument("result")
    p.add_argument("--out", default=None, help="HTML file to write (default: the result's path with .html)")
    p.add_argument("--data", default=None, help="also write the report's data as JSON to this file")
    p.add_argument("--allow-changed", action="store_true", help=changed)
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
    typed = list(argv if argv is not None else sys.argv[1:])
    args = _parser().parse_args(typed)
    args.raw = typed[typed.index(args.command) + 1:]  # as typed, after the command
    try:
        return args.run(args)
    except KeyboardInterrupt:
        print("approxify: interrupted; rerun the same command with --storage to resume.",
              file=sys.stderr)
        return 130
    except Exception as exc:  # every error is one line; the traceback only when asked for
        if args.debug:
            traceback.print_exc()
        print(f"approxify: error: {_message(exc)}", file=sys.stderr)
        return 2 if isinstance(exc, USAGE_ERRORS) else 1


def _message(exc: Exception) -> str:
    """What the error line says: approxify's own messages as they are; an OSError with the file
    it concerns; anything else (a bug) with its type and where to find the traceback."""
    if isinstance(exc, (ApproxifyError, CommandFailed, ImportError)):  # ImportError: an optional
        return str(exc)  # dependency missing, and the message says what to install
    if isinstance(exc, OSError):
        name = f"{exc.filename!r}: " if exc.filename else ""
        return f"{name}{exc.strerror or exc}"
    return f"{_described(exc)} ({DEBUG_HINT})"


if __name__ == "__main__":
    sys.exit(main())
