"""Counter-based pseudo-random numbers: a value is a pure function of (key, index).

The model has to answer "what did house 3 read at 02:10?" without stepping through every
minute since the start, and the benchmark API has to produce millions of points at once. A
hash of the integer time index gives both: reproducible for a seed, random access, and
vectorised with numpy.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]

_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_MIX1 = np.uint64(0xBF58476D1CE4E5B9)
_MIX2 = np.uint64(0x94D049BB133111EB)


def stable_key(*parts: int | str) -> int:
    """A 63-bit key from integers/strings that does not depend on Python's hash seed."""
    value = 1469598103934665603
    for part in parts:
        for byte in str(part).encode() + b"\x00":
            value = ((value ^ byte) * 1099511628211) & 0xFFFFFFFFFFFFFFFF
    return value & 0x7FFFFFFFFFFFFFFF


type Key = int | npt.NDArray[np.uint64]
"""One key, or a column of keys (one per house) that broadcasts against the indices."""


def keys(values: list[int]) -> npt.NDArray[np.uint64]:
    """A column of keys, one row per house."""
    return np.array(values, dtype=np.uint64)[:, np.newaxis]


def offset(key: Key, amount: int) -> Key:
    """A derived key (another stream of the same house)."""
    if isinstance(key, int):
        return key + amount
    return key + np.uint64(amount)


def uniform(key: Key, index: npt.NDArray[np.int64]) -> FloatArray:
    """Uniform numbers in [0, 1) from splitmix64 of (key, index)."""
    salt = np.uint64(key) if isinstance(key, int) else key
    with np.errstate(over="ignore"):
        x = index.astype(np.uint64) * _GOLDEN + salt
        x = (x ^ (x >> np.uint64(30))) * _MIX1
        x = (x ^ (x >> np.uint64(27))) * _MIX2
        x = x ^ (x >> np.uint64(31))
    return (x >> np.uint64(11)).astype(np.float64) * (1.0 / 9007199254740992.0)


_NORMAL_TABLE = np.random.default_rng(20260423).standard_normal(1 << 16)
"""Fixed standard-normal draws; a hash picks one, which is far cheaper than Box-Muller."""


def normal(key: Key, index: npt.NDArray[np.int64]) -> FloatArray:
    """Standard normal numbers for (key, index), from a fixed table indexed by the hash."""
    picks = (uniform(key, index) * _NORMAL_TABLE.size).astype(np.int64)
    result: FloatArray = _NORMAL_TABLE[picks]
    return result


def smooth(key: Key, seconds: FloatArray, period: float) -> FloatArray:
    """Smooth noise (unit variance at the knots): normals every ``period`` seconds, joined
    by a smoothstep ease so the curve has no corners a detector could mistake for a fault."""
    position = seconds / period
    knot = np.floor(position).astype(np.int64)
    fraction = position - knot
    ease = fraction * fraction * (3.0 - 2.0 * fraction)
    if knot.size == 0:
        return np.zeros(0)
    # Draw each knot once: long periods have far fewer knots than samples.
    first = int(knot.min())
    table = normal(key, np.arange(first, int(knot.max()) + 2, dtype=np.int64))
    # With a column of keys (one per house) the table has a row per house.
    left = table[..., knot - first]
    right = table[..., knot - first + 1]
    result: FloatArray = left + (right - left) * ease
    return result


def scalar_uniform(key: int, index: int) -> float:
    """One uniform number, for per-house or per-cycle parameters."""
    return float(uniform(key, np.array([index], dtype=np.int64))[0])
