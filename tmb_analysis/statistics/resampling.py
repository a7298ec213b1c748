"""Parametric redraws: negative-binomial counts with the model's overdispersion (for the priorities' stability)."""

from __future__ import annotations

import numpy as np


def nb_draw(rng: np.random.Generator, mean, phi, size: int) -> np.ndarray:
    """``size`` draws of counts with the given means and variance ``phi x mean`` (shape size x n).

    Negative binomial with ``n = mean / (phi - 1)`` and ``p = 1 / phi`` where ``phi > 1``, Poisson
    where ``phi <= 1``; a zero (or missing) mean always gives 0.
    """
    mu = np.asarray(mean, dtype=float).ravel()
    ph = np.broadcast_to(np.asarray(phi, dtype=float), mu.shape)
    out = np.zeros((size, len(mu)))
    pos = np.isfinite(mu) & (mu > 0)
    nb = pos & np.isfinite(ph) & (ph > 1 + 1e-12)
    po = pos & ~nb
    if nb.any():
        out[:, nb] = rng.negative_binomial(mu[nb] / (ph[nb] - 1), 1 / ph[nb], size=(size, int(nb.sum())))
    if po.any():
        out[:, po] = rng.poisson(mu[po], size=(size, int(po.sum())))
    return out
