"""Contextual novelty score for one univariate series (in the spirit of CAD OSE).

Status: measured, NOT wired into `score-csv`. On the NAB dev split it does not beat the robust
multi-scale z detector (`univariate.py`), alone or combined with it; the figures are in
docs/detectors.md ("NAB dev split"). It is kept as a tested building block because the question
it answers is different from the z-score's.

A robust z-score asks "is this value far from the usual spread?"; it is blind to a value that
is ordinary in size but arrives in an order the series has never shown (a level reached by a
jump it never made, a flat line where the signal always moved). This detector asks "has the
series ever moved like this before?". Values are quantised into a few coarse bins; each row
becomes a token (previous bin, current bin), i.e. a level and a direction; the detector
remembers every run of 1..`orders` consecutive tokens it has seen. The score of a row is the
share of the runs ending at that row that were never seen before, so a new level, a new jump or a
new sequence scores high and a pattern that keeps repeating is learned and stops scoring.
Learning is online: a row is scored first, then its runs are remembered, so the score at row t
uses rows 0..t only and appending rows never changes an earlier score.

The bin edges must not use future data, so the range of row t is the running minimum and
maximum of rows 0..t. A new extreme widens the range and shifts the bins, which is itself a
novelty (the series has left everything it showed before) and is scored as such.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]


@dataclass(frozen=True)
class ContextualConfig:
    """Parameters of the contextual novelty detector (best of a small grid on NAB dev)."""

    bins: int = 8
    orders: int = 2


def quantise(values: FloatArray, bins: int) -> IntArray:
    """Bin index 0..bins-1 of every row against the running range of rows 0..t.

    Missing values take the middle bin; a series that has not varied yet sits in the middle
    bin too, so a flat start is one repeated token, not noise.
    """
    values = np.asarray(values, dtype=float)
    if len(values) == 0:
        return np.zeros(0, dtype=np.int64)
    finite = np.isfinite(values)
    low = np.fmin.accumulate(np.where(finite, values, np.inf))
    high = np.fmax.accumulate(np.where(finite, values, -np.inf))
    width = high - low
    ok = finite & np.isfinite(width) & (width > 0)
    frac = np.full(len(values), 0.5)
    frac[ok] = (values[ok] - low[ok]) / width[ok]
    index = np.floor(frac * bins).astype(np.int64)
    clipped: IntArray = np.clip(index, 0, bins - 1)
    return clipped


def novelty_scores(values: FloatArray, config: ContextualConfig | None = None) -> FloatArray:
    """Share (0..1) of the token runs ending at each row that had never been seen before."""
    config = config or ContextualConfig()
    bins = quantise(np.asarray(values, dtype=float), config.bins)
    n = len(bins)
    out = np.zeros(n)
    if n == 0:
        return out
    tokens = np.empty(n, dtype=np.int64)
    tokens[0] = bins[0] * config.bins + bins[0]
    tokens[1:] = bins[:-1] * config.bins + bins[1:]
    seen: set[tuple[int, ...]] = set()
    history: list[int] = []
    for t, token in enumerate(tokens.tolist()):
        history.append(token)
        if len(history) > config.orders:
            history.pop(0)
        unseen = 0
        for start in range(len(history)):
            key = tuple(history[start:])
            if key not in seen:
                unseen += 1
                seen.add(key)
        # Divided by the full order count: the first rows cannot show every run length yet.
        out[t] = unseen / config.orders
    return out
