"""A program built from classes, as people write them: a portfolio of assets whose expected
value is a Monte Carlo average, methods calling methods (``self.value`` -> ``asset.terminal``),
a classmethod constructor and ``__init__`` with loops. Our own code, for the reach benchmark."""

from __future__ import annotations

import math
import random

QUALITY = "rel_l2"


class Asset:
    def __init__(self, spot, drift, vol):
        self.spot, self.drift, self.vol = spot, drift, vol

    def terminal(self, shocks, dt):
        """The price after one path of ``shocks`` (geometric Brownian motion)."""
        price = self.spot
        for z in shocks:
            price *= math.exp((self.drift - 0.5 * self.vol * self.vol) * dt + self.vol * math.sqrt(dt) * z)
        return price


class Portfolio:
    def __init__(self, assets, weights):
        self.assets = assets
        self.weights = []
        total = 0.0
        for w in weights:
            total += w
        for w in weights:
            self.weights.append(w / total)

    @classmethod
    def standard(cls):
        assets = [Asset(100.0 + 10 * k, 0.02 + 0.01 * k, 0.15 + 0.05 * k) for k in range(4)]
        return cls(assets, [4.0, 3.0, 2.0, 1.0])

    def value(self, scenario, dt):
        total = 0.0
        for asset, weight, shocks in zip(self.assets, self.weights, scenario):
            total += weight * asset.terminal(shocks, dt)
        return total

    def expected_value(self, scenarios, dt):
        acc = 0.0
        for scenario in scenarios:
            acc += self.value(scenario, dt)
        return acc / len(scenarios)


def scenarios(seed, count, steps, assets=4):
    rng = random.Random(seed)
    return [[[rng.gauss(0.0, 1.0) for _ in range(steps)] for _ in range(assets)] for _ in range(count)]


def portfolio_value(paths, dt):
    """The portfolio's expected value over ``paths`` (a list of scenarios)."""
    return Portfolio.standard().expected_value(paths, dt)


def make_inputs(count, *, seed=0, paths=64, steps=12):
    return [(scenarios(seed * 100_003 + i, paths, steps), 1.0 / steps) for i in range(count)]
