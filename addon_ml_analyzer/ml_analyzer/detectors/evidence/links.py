"""The links family: is the controller on line, and how often did it drop lately.

link            connection status not 1, or every value frozen for 30 minutes   controller_link
link_frequency  off-line episodes begun in the last 3 days (a watch, never an alarm)
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ml_analyzer.detectors.arrays import rolling_max, shifted
from ml_analyzer.detectors.evidence.base import Evidence, Window
from ml_analyzer.detectors.grid import ROWS_PER_DAY

LINK_LOOKBACK = 3 * ROWS_PER_DAY + 8
"""Rows before a row that its link evidence reads: the 3-day episode count over 30-minute
frozen checks of row-to-row changes."""
LINK_WATCH_CAP = 4.0
"""Highest z that recent off-line episodes alone can give (below every alarm threshold)."""
FROZEN_ROWS = 6
"""Rows without any change of temperature, humidity and pressure that count as frozen."""
EPISODE_ROWS = 3 * ROWS_PER_DAY
DOWN_Z = 10.0
MOVING_ROLES = ("temperature", "humidity", "static_pressure")


class LinkFamily:
    """Controller off line: connection status not 1, or every value frozen for 30 minutes.

    `link` is far above any threshold while the link is down (an alarm). `link_frequency`
    counts the episodes that began in the last three days, capped below the alarm level of every
    sensitivity: a link that drops more and more often shows as a rising failure risk of the
    controller link before it is lost for good, without an alarm of its own. Every house that
    reports its connection at once; the last `keep` rows are returned.
    """

    lookback = LINK_LOOKBACK

    def streams(self, window: Window) -> dict[str, list[Evidence]]:
        """`link` and `link_frequency` of every house that reports its connection."""
        tables, keep = window.context, window.keep
        status = tables.get("connection")
        if status is None:
            return {}
        houses = status.columns
        values = status.to_numpy(dtype=float)
        offline = ~np.isnan(values) & (values != 1.0)
        changes = []
        for role in MOVING_ROLES:
            if role in tables:
                at = tables[role].columns.get_indexer(houses)
                moving = np.where(at >= 0, tables[role].to_numpy(dtype=float)[:, at], np.nan)
                changes.append(np.abs(moving - shifted(moving)))
        frozen = np.zeros(values.shape, dtype=bool)
        if changes:
            stacked = np.stack(changes)
            change = np.where(np.isnan(stacked), 0.0, stacked).sum(axis=0)
            change[np.isnan(stacked).all(axis=0)] = np.nan
            frozen = rolling_max(change, FROZEN_ROWS, FROZEN_ROWS) == 0.0
        down = offline | frozen
        began = down.copy()
        began[1:] &= ~down[:-1]
        counts = np.cumsum(began, axis=0, dtype=float)
        recent = counts.copy()
        recent[EPISODE_ROWS:] -= counts[:-EPISODE_ROWS]
        rows = len(values)
        kept = pd.DatetimeIndex(status.index[rows - keep :])
        expected = pd.Series(1.0, index=kept)
        streams: dict[str, list[Evidence]] = {}
        for column, house in enumerate(houses):
            actual = pd.Series(values[rows - keep :, column], index=kept)
            count = np.minimum(recent[rows - keep :, column], LINK_WATCH_CAP)
            streams[house] = [
                Evidence(
                    name=name,
                    signal="connection",
                    z=pd.Series(z, index=kept),
                    actual=actual,
                    expected=expected,
                    subsystem_up="controller_link",
                    subsystem_down="controller_link",
                    unit="",
                )
                for name, z in (
                    ("link", down[rows - keep :, column] * DOWN_Z),
                    ("link_frequency", count),
                )
            ]
        return streams


LINKS = LinkFamily()
