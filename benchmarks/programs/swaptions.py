"""Monte Carlo price of a European payer swaption in a one-factor Heath–Jarrow–Morton model, a
simplified version of PARSEC's ``swaptions``. Plain Python loops over paths, time steps and
forward rates with ``math`` and ``random``, as such Monte Carlo code is usually first written,
so loop perforation (fewer paths, steps or rates) applies.

Written from the HJM framework as Glasserman presents it (*Monte Carlo Methods in Financial
Engineering*, 2003, section 3.6) and from PARSEC's description of its benchmark (HJM paths of
the forward curve, the swap valued at expiry on each path, discounted and averaged), not from
PARSEC's code. Simplifications: one factor, a constant (normal, absolute) volatility, and one
grid step ``DT`` of half a year for the time steps, the forward rates and the swap's payments.
The forward rate ``f[j]`` covers ``[j DT, (j+1) DT)``; each step moves every rate still alive by
the same shock plus the discrete no-arbitrage drift ``vol^2 DT (j - i - 1/2)``, so discounted
bond prices are martingales and prices converge to those of the continuous model (Ho–Lee).

At expiry the payer swap (notional 1, fixed ``strike`` paid every ``DT`` for ``tenor`` years)
is worth ``1 - P(T, T_n) - strike DT sum_k P(T, T_k)`` on the path's own curve; the price is
the mean of its positive part discounted along the path's short rates. Inputs: contracts of 1-5
years to expiry on swaps of 1-5 years, strikes from 20% below to 10% above the forward swap
rate, volatilities of 50-150 basis points, today's curve rising from 2-5%; each its own seed.
"""

from __future__ import annotations

import math
import random

QUALITY = "mean_rel"  # relative price error
DT = 0.5  # years per time step, forward rate and payment period
PATHS = 1500  # simulated paths per price


def price(strike, expiry, tenor, vol, rate, seed, paths=PATHS):
    """Price of a payer swaption struck at ``strike`` (a rate), by Monte Carlo over ``paths``."""
    rng = random.Random(seed)
    steps = round(expiry / DT)
    end = steps + round(tenor / DT)  # forward rates up to the swap's last payment
    today = initial_curve(rate, end)
    shock = vol * math.sqrt(DT)
    drift = vol * vol * DT * DT  # times (j - i - 1/2): the discrete HJM drift of f[j] at step i
    total = 0.0
    for _ in range(paths):
        forwards = list(today)
        short_sum = 0.0  # integral of the short rate: the path's discount exponent
        for i in range(steps):
            short_sum += forwards[i] * DT
            z = shock * rng.gauss(0.0, 1.0)
            for j in range(i + 1, end):
                forwards[j] += drift * (j - i - 0.5) + z
        total += math.exp(-short_sum) * max(swap_value(forwards, steps, end, strike), 0.0)
    return total / paths


def swap_value(forwards, first, end, strike):
    """Value at ``first * DT`` of the payer swap paying ``strike`` each period up to ``end * DT``."""
    log_bond = 0.0
    annuity = 0.0
    for j in range(first, end):
        log_bond -= forwards[j] * DT
        annuity += DT * math.exp(log_bond)
    return 1.0 - math.exp(log_bond) - strike * annuity


def initial_curve(rate, count):
    """Today's forward rates: ``rate`` at the short end, rising by up to 1.5% (a normal curve)."""
    return [rate + 0.015 * (1.0 - math.exp(-(j + 0.5) * DT / 3.0)) for j in range(count)]


def forward_swap_rate(expiry, tenor, rate):
    """The strike that makes the swap worth zero today: the at-the-money strike."""
    steps, end = round(expiry / DT), round((expiry + tenor) / DT)
    curve = initial_curve(rate, end)
    bonds = [math.exp(-DT * sum(curve[:k + 1])) for k in range(end)]
    return (bonds[steps - 1] - bonds[end - 1]) / (DT * sum(bonds[steps:end]))


def make_inputs(count: int, *, seed: int = 0, paths: int | None = None) -> list[tuple]:
    """``count`` contracts ``(strike, expiry, tenor, vol, rate, seed)``, each with its own seed;
    ``paths``, when given, is appended to each (the number of paths :func:`price` simulates)."""
    rng = random.Random(seed)
    inputs = []
    for k in range(count):
        expiry = DT * rng.randint(2, 10)
        tenor = DT * rng.randint(2, 10)
        rate = rng.uniform(0.02, 0.05)
        strike = forward_swap_rate(expiry, tenor, rate) * rng.uniform(0.8, 1.1)
        contract = (strike, expiry, tenor, rng.uniform(0.005, 0.015), rate, seed * 100_003 + k)
        inputs.append(contract if paths is None else (*contract, paths))
    return inputs
