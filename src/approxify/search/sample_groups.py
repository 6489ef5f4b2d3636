"""``groups=`` of ``approximate``: inputs that are not independent draws share a group label.

Copies of one image with fresh noise, frames of one video, calls on one user's data: a held-out
input whose twin was tuned on is no new draw, and twins' losses move together, so counting each
input as one observation overstates what the held-out set shows (simulated on the digits setup,
8 noisy copies per image split at random: the 95% certificate covered the mean over new images
0.81 of the time). With groups, the split keeps each group on one side (seeded, as
scikit-learn's ``GroupShuffleSplit``; ``holdout=`` then counts groups), and each held-out group
is one observation: its loss is the mean of its members' losses, in [0, cap] like theirs, and
the certificate speaks of the mean over new groups, with n the number of held-out groups. A
group with a failed member is failed, its loss the cap; it is identical when all members are.

Not ``grouping=`` (:mod:`.groups`), which ties approximation *sites* together for the search.

Labels: a Python program's input (one call) gets one hashable label. A model's input is a batch
whose losses are per sample, so it gets a sequence of labels, one per sample. Batches are never
divided: the split keeps whole components (batches linked through a shared label) on one side,
and counts the groups in them. The held-out groups are then a random draw of groups when the
batches hold a random choice of groups: the requirement the ungrouped per-sample certificate of
a model already has of its batches (there the samples, here the groups).
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import Any

import numpy as np

from ..errors import InvalidArgument, InvalidArgumentType, NotEnoughInputs
from ..measure.evaluation import Evaluation
from ..measure.inputs import units_of
from ..measure.runner import Failure


@dataclass(frozen=True)
class SampleGroups:
    """The group of every loss: ``codes[k]`` has one group number per loss input ``k`` gives
    (one for a call, a batch's samples for a model); groups are numbered 0..count-1 in order of
    first appearance, so labellings that group alike are the same groups."""

    codes: tuple[tuple[int, ...], ...]
    count: int

    @property
    def singletons(self) -> bool:
        """Every group has one loss: 0/1 losses stay 0/1 when pooled (exact binomial bounds)."""
        return sum(len(c) for c in self.codes) == self.count

    def digest(self) -> str:
        """What a study is keyed on: which inputs (and samples) are grouped together."""
        return hashlib.sha256(repr(self.codes).encode()).hexdigest()

    def within(self, indices: Sequence[int]) -> int:
        """How many groups the inputs of ``indices`` hold."""
        return len({code for i in indices for code in self.codes[i]})

    def split(self, n_heldout: int, seed: int) -> tuple[list[int], list[int]]:
        """Tuning and held-out input indices: whole components in a seeded order are held out
        until they hold ``n_heldout`` groups (exactly that many when no input holds two)."""
        components = self._components
        heldout: list[int] = []
        taken = 0
        for c in np.random.default_rng(seed).permutation(len(components)):
            if taken >= n_heldout:
                break
            heldout += components[c]
            taken += self.within(components[c])
        tuning = sorted(set(range(len(self.codes))) - set(heldout))
        if not tuning:
            raise NotEnoughInputs(
                f"groups= links the inputs into {len(components)} parts that cannot be divided "
                f"(batches sharing a group); holding out {n_heldout} groups takes all of them. "
                "Put each group's samples in fewer batches, or pass a smaller holdout=."
            )
        return tuning, sorted(heldout)

    @cached_property
    def _components(self) -> list[list[int]]:
        """Inputs linked through shared groups (union-find over groups), in order of their
        first input."""
        parent = list(range(self.count))

        def root(g: int) -> int:
            while parent[g] != g:
                parent[g] = parent[parent[g]]
                g = parent[g]
            return g

        for codes in self.codes:
            for code in codes[1:]:
                parent[root(code)] = root(codes[0])
        found: dict[Any, list[int]] = {}
        for index, codes in enumerate(self.codes):
            found.setdefault(root(codes[0]) if codes else ("alone", index), []).append(index)
        return list(found.values())

    def check_units(self, units: Sequence[int], *, metric: str) -> None:
        """Each input's labels against the losses the metric gives it (known once the exact
        program ran): a per-sample metric that gives one loss per batch cannot be grouped."""
        for index, (codes, count) in enumerate(zip(self.codes, units)):
            if len(codes) != count:
                raise InvalidArgument(
                    f"groups[{index}] has {len(codes)} labels, but quality {metric!r} gives "
                    f"{count} losses for input #{index}; give one label per loss (per sample "
                    "of a model's batch), or a metric that gives one loss per sample."
                )

    def pool(self, evaluation: Evaluation, indices: Sequence[int], *, cap: float) -> Evaluation:
        """``evaluation`` (of the inputs ``indices``, in that order) with one loss per group:
        the mean of its members', or ``cap`` when one of them failed (one failure per group)."""
        codes = np.array([code for i in indices for code in self.codes[i]], dtype=np.int64)
        groups, member_of = np.unique(codes, return_inverse=True)
        means = np.bincount(member_of, weights=evaluation.losses) / np.bincount(member_of)
        means = np.minimum(means, cap)  # a mean of losses at the cap may round above it
        failures = {}
        for failure in evaluation.failures:
            for code in self.codes[failure.index]:
                failures.setdefault(code, Failure(failure.index, failure.kind, failure.message))
        position = {int(g): k for k, g in enumerate(groups)}
        for code in failures:
            means[position[code]] = cap
        return Evaluation(means, tuple(failures.values()), evaluation.speedup, evaluation.timing,
                          evaluation.config, evaluation.guards, evaluation.above_one,
                          size=evaluation.size)

    def settings(self, heldout: Sequence[int]) -> dict[str, Any]:
        """What a result records of the groups (and a study is keyed on)."""
        return {"groups": self.count, "heldout": self.within(heldout), "digest": self.digest()}


def read_groups(groups: Any, items: Sequence[Any], *, per_sample: bool) -> SampleGroups | None:
    """``groups=`` checked against the inputs before anything runs: one hashable label per
    input, or for a model one sequence per batch with a label per sample."""
    if groups is None:
        return None
    labels = _as_list(groups, name="groups")
    if len(labels) != len(items):
        raise InvalidArgument(
            f"groups= expects one entry per input ({len(items)}), got {len(labels)}; "
            f"groups[k] is the group of inputs[k]"
            + (", a sequence with one label per sample of that batch." if per_sample else ".")
        )
    numbers: dict[Any, int] = {}
    codes = []
    for index, entry in enumerate(labels):
        members = _batch_labels(entry, items[index], index) if per_sample else [entry]
        codes.append(tuple(numbers.setdefault(_hashable(label, index), len(numbers))
                           for label in members))
    if len(numbers) < 2:
        raise NotEnoughInputs(
            f"groups= puts every input in {len(numbers)} group; the tuning and the held-out "
            "side need a group each. Pass labels that tell independent inputs apart."
        )
    return SampleGroups(tuple(codes), len(numbers))


def _as_list(value: Any, *, name: str) -> list[Any]:
    """A sequence (list, tuple, NumPy array, tensor) as a list of plain labels."""
    if isinstance(value, (str, bytes, Mapping)) or not hasattr(value, "__len__"):
        raise InvalidArgumentType(
            f"{name}= expects a sequence of labels (a list, a NumPy array), got "
            f"{type(value).__name__}; e.g. groups=[image_id(x) for x in inputs]."
        )
    return value.tolist() if hasattr(value, "tolist") else list(value)


def _batch_labels(entry: Any, batch: Any, index: int) -> list[Any]:
    """A model's batch: one label per sample."""
    size = units_of(batch, per_sample=True)
    if isinstance(entry, (str, bytes)) or not hasattr(entry, "__len__"):
        raise InvalidArgumentType(
            f"groups[{index}] is {entry!r}; for a model each entry is a sequence with one label "
            f"per sample of batch #{index} ({size}); a whole batch in one group is "
            f"[label] * {size}."
        )
    members = _as_list(entry, name=f"groups[{index}]")
    if len(members) != size:
        raise InvalidArgument(
            f"groups[{index}] has {len(members)} labels for the {size} samples of batch "
            f"#{index}; give one label per sample."
        )
    return members


def _hashable(label: Any, index: int) -> Any:
    try:
        hash(label)
    except TypeError:
        raise InvalidArgumentType(
            f"groups[{index}] holds {label!r} ({type(label).__name__}), which is not hashable; "
            "labels must be hashable: an int, a str, a tuple."
        ) from None
    return label
