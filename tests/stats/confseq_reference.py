"""The betting martingale of the paper's authors, as an external reference for our own.

Copied from confseq 0.0.11 (https://github.com/gostevehoward/confseq, ``src/confseq/betting.py``
``betting_mart`` and ``src/confseq/betting_strategies.py`` ``lambda_predmix_eb``), cut down to
the one-sided process approxify uses (theta = 0: the "negative" capital, betting that the mean
is below m) and to NumPy only. The package itself does not install here (it builds a C++
extension against Boost), so the two functions are kept as they were, apart from that cut.

MIT License, Copyright (c) 2021 confseq developers. Permission is hereby granted, free of charge,
to any person obtaining a copy of this software and associated documentation files (the
"Software"), to deal in the Software without restriction, including without limitation the
rights to use, copy, modify, merge, publish, distribute, sublicense, and/or sell copies of the
Software, and to permit persons to whom the Software is furnished to do so, subject to the
following conditions: The above copyright notice and this permission notice shall be included
in all copies or substantial portions of the Software. THE SOFTWARE IS PROVIDED "AS IS",
WITHOUT WARRANTY OF ANY KIND.
"""

import math

import numpy as np


def lambda_predmix_eb(x, truncation=math.inf, alpha=0.05, fixed_n=None, prior_mean=1 / 2,
                      prior_variance=1 / 4, fake_obs=1, scale=1):
    t = np.arange(1, len(x) + 1)
    mu_hat_t = np.minimum((fake_obs * prior_mean + np.cumsum(x)) / (t + fake_obs), 1)
    sigma2_t = (fake_obs * prior_variance + np.cumsum(np.power(x - mu_hat_t, 2))) / (t + fake_obs)
    sigma2_tminus1 = np.append(prior_variance, sigma2_t[0: (len(x) - 1)])
    if fixed_n is None:
        lambdas = np.sqrt(2 * np.log(1 / alpha) / (t * np.log(1 + t) * sigma2_tminus1))
    else:
        lambdas = np.sqrt(2 * np.log(1 / alpha) / (fixed_n * sigma2_tminus1))
    lambdas[np.isnan(lambdas)] = 0
    lambdas = np.minimum(truncation, lambdas)
    return lambdas * scale


def negative_capital(x, m, alpha=0.05, fixed_n=None, trunc_scale=1 / 2):
    """``betting_mart(x, m, theta=0, trunc_scale=..., m_trunc=True)`` with predmix-EB bets."""
    mu_t = np.repeat(m, len(x))
    lambdas_negative = lambda_predmix_eb(x, alpha=alpha, fixed_n=fixed_n)
    with np.errstate(divide="ignore"):
        lambdas_negative = np.minimum(lambdas_negative, trunc_scale / (1 - mu_t))
        lambdas_negative = np.maximum(lambdas_negative, -trunc_scale / mu_t)
    with np.errstate(invalid="ignore"):
        multiplicand_negative = 1 - lambdas_negative * (x - mu_t)
    multiplicand_negative[np.logical_and(lambdas_negative == math.inf, x - mu_t == 0)] = 1
    with np.errstate(invalid="ignore"):
        capital_process_negative = np.cumprod(multiplicand_negative)
    capital_process_negative[np.isnan(capital_process_negative)] = 0
    return capital_process_negative
