"""Rolling windows and shifts on plain 2-D arrays (rows of the 5-minute grid x houses).

The detectors' derived signals are trailing windows over every house of a farm. With pandas 3
each DataFrame operation costs ~0.5 ms even on a few hundred rows, and a 5-minute tick of a
400-house company runs dozens per farm; these numpy versions cost a few microseconds and give
pandas' values (means and sums to rounding, maxima exactly). Windows end at the row (causal).
A 1-D array is taken as one column. No pandas import, so any detector module can use them.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]


def rolling_sum(values: FloatArray, rows: int, min_periods: int = 1) -> FloatArray:
    """Sum over the trailing `rows` rows of each column, ignoring NaN; NaN where fewer than
    `min_periods` values are present (pandas' rolling(rows, min_periods).sum()).

    Running sums: the same values as pandas' to rounding (~1e-12 relative).
    """
    table = values if values.ndim == 2 else values.reshape(-1, 1)
    present = ~np.isnan(table)
    sums = np.cumsum(np.where(present, table, 0.0), axis=0)
    counts = np.cumsum(present, axis=0)
    if rows < len(table):
        sums[rows:] = sums[rows:] - sums[:-rows]
        counts[rows:] = counts[rows:] - counts[:-rows]
    sums[counts < min_periods] = np.nan
    result: FloatArray = sums.reshape(values.shape)
    return result


def rolling_mean(values: FloatArray, rows: int, min_periods: int = 1) -> FloatArray:
    """Mean over the trailing `rows` rows of each column, ignoring NaN (see rolling_sum)."""
    table = values if values.ndim == 2 else values.reshape(-1, 1)
    present = ~np.isnan(table)
    counts = np.cumsum(present, axis=0)
    if rows < len(table):
        counts[rows:] = counts[rows:] - counts[:-rows]
    with np.errstate(divide="ignore", invalid="ignore"):
        mean: FloatArray = rolling_sum(table, rows, min_periods) / counts
    return mean.reshape(values.shape)


def rolling_max(values: FloatArray, rows: int, min_periods: int = 1) -> FloatArray:
    """Maximum over the trailing `rows` rows of each column, ignoring NaN; NaN where fewer than
    `min_periods` values are present (pandas' rolling(rows, min_periods).max(), on arrays).

    Blocks of `rows` rows with running maxima from both ends (van Herk / Gil-Werman): each
    window is a suffix of one block and a prefix of the next, so the cost does not grow with the
    window. Exact (a maximum has no rounding).
    """
    table = values if values.ndim == 2 else values.reshape(-1, 1)
    length, columns = table.shape
    if length == 0:
        return values.astype(float, copy=True)
    blocks = -(-length // rows)
    padded = np.full((blocks * rows, columns), -np.inf)
    padded[:length] = np.where(np.isnan(table), -np.inf, table)
    shaped = padded.reshape(blocks, rows, columns)
    prefix = np.maximum.accumulate(shaped, axis=1).reshape(blocks * rows, columns)
    suffix = np.maximum.accumulate(shaped[:, ::-1], axis=1)[:, ::-1].reshape(blocks * rows, columns)
    result = prefix[:length].copy()
    if length >= rows:
        result[rows - 1 :] = np.maximum(suffix[: length - rows + 1], prefix[rows - 1 : length])
    result[result == -np.inf] = np.nan
    if min_periods > 1:
        counts = np.cumsum(~np.isnan(table), axis=0)
        if rows < length:
            counts[rows:] = counts[rows:] - counts[:-rows]
        result[counts < min_periods] = np.nan
    return result.reshape(values.shape)


def shifted(values: FloatArray) -> FloatArray:
    """The rows moved down by one (NaN in the first row), as pandas' shift(1)."""
    before = np.empty_like(values)
    before[:1] = np.nan
    before[1:] = values[:-1]
    return before


def pack_medians(values: FloatArray) -> FloatArray:
    """Per house (column), the median of the other houses at each row (NaN where none reports).

    One sort of each row serves every house: leaving one value out of a sorted row moves the
    middle positions by at most one, which its rank tells (a NaN sorts last and moves nothing).
    The values are np.nanmedian's over the other columns.
    """
    houses = values.shape[1]
    order = np.argsort(values, axis=1, kind="stable")
    ordered = np.take_along_axis(values, order, axis=1)
    rank = np.empty_like(order)
    np.put_along_axis(rank, order, np.arange(houses)[None, :], axis=1)
    present = ~np.isnan(values)
    others = present.sum(axis=1, keepdims=True) - present
    low = np.maximum((others - 1) // 2, 0)
    high = others // 2
    low += low >= rank
    high += high >= rank
    low_value = np.take_along_axis(ordered, np.minimum(low, houses - 1), axis=1)
    high_value = np.take_along_axis(ordered, np.minimum(high, houses - 1), axis=1)
    median: FloatArray = np.where(others % 2 == 1, low_value, (low_value + high_value) / 2.0)
    median[others == 0] = np.nan
    return median


def rate_values(total: FloatArray) -> FloatArray:
    """Increment per row of a running daily total that resets at local midnight.

    A drop means the counter was reset: the new value itself is that row's increment. Gaps give
    NaN rather than a made-up increment.
    """
    before = shifted(total)
    step = total - before
    reset = step < -0.05 * np.abs(before)
    rate: FloatArray = np.maximum(np.where(reset, total, step), 0.0)
    return rate


def ffill(values: FloatArray, limit: int | None = None) -> FloatArray:
    """Forward fill down the rows of a 2-D array (pandas' ffill, on plain arrays): a NaN takes
    the last value above it, at most `limit` rows down when a limit is given."""
    rows = np.arange(values.shape[0])[:, None]
    last = np.maximum.accumulate(np.where(np.isnan(values), -1, rows), axis=0)
    filled = np.take_along_axis(values, np.maximum(last, 0), axis=0)
    missing = last < 0
    if limit is not None:
        missing |= rows - last > limit
    filled[missing] = np.nan
    return filled
