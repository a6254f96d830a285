"""Closed-form mean response (sojourn) times of classic queueing models, for checking
simulations against theory. Times are in the units of 1/mu (service rate mu)."""

from __future__ import annotations

import math

__all__ = ["mm1_response", "erlang_c", "mmc_response", "supermarket_response"]


def mm1_response(lam: float, mu: float) -> float:
    """Mean response time of an M/M/1 queue: 1 / (mu - lam).

    ``lam`` is the arrival rate and ``mu`` the service rate; returns ``inf`` when the queue is
    not stable (lam >= mu).
    """
    if mu <= 0 or lam < 0:
        raise ValueError(f"mm1_response: need mu > 0 and lam >= 0, got lam={lam}, mu={mu}")
    return math.inf if lam >= mu else 1.0 / (mu - lam)


def erlang_c(c: int, a: float) -> float:
    """Erlang C: probability that an arrival waits in an M/M/c queue with offered load
    ``a = lam / mu`` (Erlangs) on ``c`` servers. Uses the Erlang B recursion, so it is stable
    for large ``c``. Returns 1 when ``a >= c`` (unstable)."""
    if c < 1:
        raise ValueError(f"erlang_c: need c >= 1, got {c}")
    if a >= c:
        return 1.0
    b = 1.0
    for k in range(1, c + 1):
        b = a * b / (k + a * b)
    rho = a / c
    return b / (1.0 - rho * (1.0 - b))


def mmc_response(c: int, lam: float, mu: float) -> float:
    """Mean response time of an M/M/c queue (one central FIFO, ``c`` servers of rate ``mu``):
    ``C(c, lam/mu) / (c mu - lam) + 1 / mu`` with C the Erlang C formula. ``inf`` if unstable.
    For c = 1 it equals mm1_response(lam, mu)."""
    if mu <= 0 or lam < 0:
        raise ValueError(f"mmc_response: need mu > 0 and lam >= 0, got lam={lam}, mu={mu}")
    if lam >= c * mu:
        return math.inf
    return erlang_c(int(c), lam / mu) / (c * mu - lam) + 1.0 / mu


def supermarket_response(rho: float, d: int, mu: float = 1.0, tol: float = 1e-15) -> float:
    """Mean sojourn time of the supermarket model (Mitzenmacher 2001): n -> infinity FIFO
    servers of rate ``mu``, Poisson arrivals at rate ``rho * n * mu``, each task joining the
    shortest of ``d`` queues sampled uniformly at random:

        E[T] = (1 / mu) * sum_{i >= 1} rho ** ((d**i - d) / (d - 1))

    The terms fall doubly exponentially for d >= 2, so the sum stops once they drop below
    ``tol``. For d = 1 the exponent is i - 1 and the sum is the M/M/1 value 1 / (mu (1 - rho)).
    """
    if not 0 <= rho < 1:
        return math.inf if rho >= 1 else float("nan")
    if d < 1:
        raise ValueError(f"supermarket_response: need d >= 1, got {d}")
    if d == 1:
        return mm1_response(rho * mu, mu)
    if rho == 0:
        return 1.0 / mu
    total, i = 0.0, 1
    while True:
        exponent = (d ** i - d) / (d - 1)
        term = rho ** exponent
        total += term
        if term < tol or i > 200:
            break
        i += 1
    return total / mu
