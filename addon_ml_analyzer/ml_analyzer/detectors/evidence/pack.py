"""The pack family: each house's derived signals against the median of its sibling houses.

The strongest signal on a farm is a house leaving the pack: the sibling houses share the
weather, the farmer's routine and usually a similar flock, so each house's signal minus the
median of the other houses cancels most of what is normal and leaves what is wrong with that
house. The residual is compared with its own recent history (baselines.py) to give a robust z.
Where a house has no siblings with the signal (a one-house farm), the one switch: its own
signal is the residual and its expected value the same hour of its own past days
(baselines.same_hour), so the day's rhythm that a pack would cancel is not read as a fault.

The signals are registered in SIGNALS (one module each: climate.py, heating.py, intake.py);
their order is the order of the streams (a tie between streams goes to the first).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from ml_analyzer.detectors.arrays import pack_medians, rolling_mean
from ml_analyzer.detectors.baselines import Baselines, baselines_of
from ml_analyzer.detectors.evidence import climate, heating, intake
from ml_analyzer.detectors.evidence.base import (
    TREND_FLOOR_DIVISOR,
    TREND_ROWS,
    Evidence,
    EvidenceSpec,
    Mask,
    Signal,
    Window,
)
from ml_analyzer.detectors.occupancy import settled

SIGNALS: Sequence[Signal] = [
    climate.CLIMATE,
    heating.HEAT_EFFORT,
    heating.HEAT_LOAD,
    climate.HUMIDITY,
    climate.PRESSURE,
    intake.INTAKE,
]
"""The pack signals, in the order of their streams."""

RELATIVE_FLOOR = 0.05
"""Noise floor of a relative (log ratio) residual: 5 %."""


class PackFamily:
    """Every registered signal of every house against its pack (see the module docstring)."""

    @property
    def lookback(self) -> int:
        """The longest lookback of the registered signals."""
        return max(signal.lookback for signal in SIGNALS)

    def streams(self, window: Window) -> dict[str, list[Evidence]]:
        """The pack streams of every house; rows where its flock is not settled are missing."""
        mask = settled(window.grid)
        column = {house: position for position, house in enumerate(window.grid.houses)}
        streams: dict[str, list[Evidence]] = {}
        for signal in SIGNALS:
            for name, whole in signal.derive(window.context).items():
                table = whole.iloc[len(whole) - window.evaluate :]
                rows = None
                if mask is not None:
                    at = [column[house] for house in table.columns]
                    rows = mask[window.rows - window.evaluate :, at]
                packed = pack_streams(
                    table,
                    signal.specs[name],
                    name,
                    settled=rows,
                    keep=window.keep,
                    baselines=window.baselines,
                )
                for house, found in packed.items():
                    streams.setdefault(house, []).extend(found)
        return streams


def pack_streams(
    table: pd.DataFrame,
    spec: EvidenceSpec,
    name: str,
    *,
    settled: Mask | None,
    keep: int,
    baselines: Baselines | None,
) -> dict[str, list[Evidence]]:
    """Evidence of every house of `table` leaving its pack (or its own past without siblings).

    The residual is the house's signal minus the median of the other houses (their log ratio
    for a relative spec); with `spec.trend` a second stream averages it over TREND_ROWS first:
    slower, but a slow drift (wear) stands out against a much smaller spread, hours or days
    earlier. Unsettled rows (`settled` False) count as missing. All houses at once on plain
    arrays: this runs for every signal of every farm on every tick, where pandas' per-operation
    cost would dominate. Only the last `keep` rows are returned.
    """
    index = pd.DatetimeIndex(table.index)
    own = table.to_numpy(dtype=float, copy=True)
    if settled is not None:
        own[~settled] = np.nan
    pack = pack_medians(own)
    alone = np.asarray(np.isnan(pack).all(axis=0))
    residual = np.log((own + spec.floor) / (pack + spec.floor)) if spec.relative else own - pack
    residual[:, alone] = own[:, alone]
    floor = RELATIVE_FLOOR if spec.relative else spec.floor
    variants = [(name, residual, floor)]
    if spec.trend:
        trend = rolling_mean(residual, TREND_ROWS, TREND_ROWS // 3)
        variants.append((f"{name}_trend", trend, spec.trend_floor or floor / TREND_FLOOR_DIVISOR))
    start = len(index) - keep
    kept = index[start:]
    houses = list(table.columns)
    scored = []
    for stream, values, stream_floor in variants:
        # A house without siblings: its own past at the same hour of day (its own key, so a
        # baseline recorded while it had a pack is never replayed against its own signal).
        keys = [
            f"{house}/{stream}/own" if alone[column] else f"{house}/{stream}"
            for column, house in enumerate(houses)
        ]
        typical, mad = baselines_of(values, index, keys, baselines, seasonal=alone)
        z = (values - typical) / np.maximum(1.4826 * mad, stream_floor)
        if spec.relative:
            expected = (pack + spec.floor) * np.exp(typical) - spec.floor
        else:
            expected = pack + typical
        expected[:, alone] = typical[:, alone]
        scored.append((stream, z[start:], expected[start:]))
    streams: dict[str, list[Evidence]] = {}
    for column, house in enumerate(houses):
        actual = pd.Series(own[start:, column], index=kept)
        streams[house] = [
            Evidence(
                name=stream,
                signal=spec.signal,
                z=pd.Series(z[:, column], index=kept),
                actual=actual,
                expected=pd.Series(expected[:, column], index=kept),
                subsystem_up=spec.up,
                subsystem_down=spec.down,
                unit=spec.unit,
                limit=spec.limit,
                slow=spec.slow,
            )
            for stream, z, expected in scored
        ]
    return streams


PACK = PackFamily()
