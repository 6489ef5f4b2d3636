"""Perforated loops of numba-compiled functions, written out in full.

numba cannot call the Python selectors (they return ``itertools`` iterators), so a compiled loop
keeps its iterable and decides in the loop, with local integers::

    _ax_n_0 = _ax_size(_ax_items_0)              # random: the length, -1 for an iterator
    _ax_m_0 = _ax_kept(_ax_n_0, 1, 2)            #         how many run, as truncate
    for x in _ax_items_0:
        _ax_seen_0 += 1
        if not _ax_pick(seed, _ax_seen_0 - 1, _ax_n_0 - _ax_seen_0 + 1, _ax_m_0 - _ax_ran_0, 1, 2):
            continue                             # modulo p/q: ((_ax_seen_0 - 1) * p) % q >= p
        _ax_ran_0 += 1
        ...

Truncate iterates ``_ax_first(items, m)`` (a shorter range, a slice), and modulo every k-th of a
``range`` a strided range. The decisions and counts are those the Python selectors make, from
the same integer helpers, so both variants run the same iterations and compensate alike.
"""

from __future__ import annotations

import ast
import copy
from fractions import Fraction

from ...config import Perforate

KEPT_DENOMINATOR = 10**9


def kept_share(keep: float) -> tuple[int, int]:
    """The kept share ``p / q`` truncate and random run ``ceil(n * p / q)`` of: the nearest
    fraction with ``q <= 10**9``, so that float noise (1 - 0.7 = 0.30000000000000004) is not
    rounded up into one more iteration; for the rates offered it is exactly ``keep``."""
    share = Fraction(keep).limit_denominator(KEPT_DENOMINATOR)
    return share.numerator, share.denominator


def compiled_loop(
    loop: ast.For,
    setting: Perforate,
    index: int,
    accumulators: list[ast.expr],
    *,
    seed: int,
    modulo: tuple[int, int],
    plain_range: bool,
    early_exit: bool,
) -> tuple[list[ast.stmt], set[str]]:
    """The statements replacing ``loop`` (rewritten in place) and the helpers they call.

    ``modulo`` is modulo's kept share p/q, ``plain_range`` whether the loop iterates a call of
    the builtin ``range``. Counts for ``compensate=True`` are what the Python tally counts: items
    taken from the iterable (all of them when the loop runs to its end) and iterations run. As
    in Python, an iterator is materialised (then random runs an exact count) for truncate, and
    for random with ``compensate=True`` when the loop cannot exit early.
    """
    names = {w: f"_ax_{w}_{index}" for w in ("items", "n", "m", "seen", "ran")}
    source = loop.iter
    counted_up_front = setting.policy == "random" and setting.compensate and not early_exit
    if not plain_range and (setting.policy == "truncate" or counted_up_front):
        source = _expr("_ax_sized(ITER)", ITER=source)
    p, q = modulo if setting.policy == "modulo" else kept_share(setting.keep)
    if setting.policy == "modulo" and p == 1 and plain_range:
        # only with compensate=True (else the strided range needs no counting): count as islice
        form = _STRIDED
    elif setting.policy == "truncate":
        form = _TRUNCATED_COUNTED if setting.compensate else _TRUNCATED
    elif setting.policy == "modulo":
        form = _MODULO_COUNTED if setting.compensate else _MODULO
    else:
        form = _RANDOM
    setup, head, on_end, iterated = (part.format(**names, p=p, q=q, seed=seed, first=1 - q)
                                     for part in form)
    setup, head, on_end = (_code(part, ITER=source) for part in (setup, head, on_end))
    loop.iter = _expr(iterated) if iterated else loop.iter
    loop.body[:0] = head
    loop.orelse[:0] = on_end
    snapshots, after = [], []
    for k, accumulator in enumerate(accumulators if setting.compensate else []):
        before = f"_ax_before_{index}_{k}"
        snapshots += _code(f"{before} = _ax_snapshot(ACC)", ACC=accumulator)
        rescale = f"ACC = _ax_rescale(ACC, {before}, {names['seen']}, {names['ran']})"
        after += _code(rescale, ACC=accumulator)
    statements = [*setup, *snapshots, loop, *after]
    located = [ast.fix_missing_locations(ast.copy_location(s, loop)) for s in statements]
    called = {n.func.id for s in located for n in ast.walk(s)
              if isinstance(n, ast.Call) and isinstance(n.func, ast.Name)}
    return located, {name for name in called if name.startswith("_ax_")}


# Each form: (statements before the loop, at the top of its body, at the top of its else clause,
# the expression it iterates or "" to keep ITER). ITER stands for the loop's iterable, evaluated once.
_STRIDED = (
    "{items} = ITER\n{seen} = {first}\n{ran} = 0",
    "{seen} += {q}\n{ran} += 1",
    "{seen} = len({items})",
    "range({items}.start, {items}.stop, {items}.step * {q})",
)
_TRUNCATED = (
    "{items} = ITER\n{n} = len({items})\n{m} = _ax_kept({n}, {p}, {q})",
    "",
    "",
    "_ax_first({items}, {m})",
)
_TRUNCATED_COUNTED = (
    _TRUNCATED[0] + "\n{seen} = 0\n{ran} = 0", "{seen} += 1\n{ran} += 1", "{seen} = {n}", _TRUNCATED[3],
)
_MODULO = ("{seen} = 0", "{seen} += 1\nif ({seen} - 1) * {p} % {q} >= {p}:\n    continue", "", "")
_MODULO_COUNTED = (_MODULO[0] + "\n{ran} = 0", _MODULO[1] + "\n{ran} += 1", "", "")
_RANDOM = (
    "{items} = ITER\n{n} = _ax_size({items})\n{m} = _ax_kept({n}, {p}, {q})\n{seen} = 0\n{ran} = 0",
    "{seen} += 1\n"
    "if not _ax_pick({seed}, {seen} - 1, {n} - {seen} + 1, {m} - {ran}, {p}, {q}):\n    continue\n"
    "{ran} += 1",
    "",
    "{items}",
)


def _code(template: str, **exprs: ast.expr) -> list[ast.stmt]:
    """``template`` parsed, each name in ``exprs`` replaced by a copy of its expression (loaded or
    stored where the name is)."""

    class Substitute(ast.NodeTransformer):
        def visit_Name(self, node: ast.Name) -> ast.expr:
            if node.id not in exprs:
                return node
            fresh = copy.deepcopy(exprs[node.id])
            fresh.ctx = node.ctx  # type: ignore[attr-defined]
            return fresh

    return [Substitute().visit(s) for s in ast.parse(template).body]


def _expr(template: str, **exprs: ast.expr) -> ast.expr:
    (statement,) = _code(template, **exprs)
    assert isinstance(statement, ast.Expr)
    return statement.value
