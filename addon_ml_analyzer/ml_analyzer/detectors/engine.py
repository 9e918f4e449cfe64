"""Stage 4, the engine: the registered evidence families run over a farm's grid.

`farm_evidence` (batch: frames in, every row judged) and `grid_evidence` (the incremental
update: only the last rows) are the one place where the stages meet: grid -> evidence families
(each with its baselines) -> per house, the streams the alarms (alarms.py) and the decision
(decision.py) read. The benchmarks and the live analyzer call these very functions.
"""

from __future__ import annotations

import pandas as pd

from ml_analyzer.detectors.baselines import Baselines
from ml_analyzer.detectors.evidence import FAMILIES, Evidence, HouseEvidence, Window
from ml_analyzer.detectors.evidence.base import TREND_ROWS
from ml_analyzer.detectors.grid import ROWS_PER_HOUR, FarmGrid, prepare

TAIL_CONTEXT_ROWS = 2 * TREND_ROWS + 2 * ROWS_PER_HOUR + 2
"""Rows before the kept tail that the pack trend and probe windows read (exactly)."""
UPDATE_CONTEXT = pd.Timedelta(days=10)
"""Grid an incremental update keeps: the longest derivation lookback (the 7-day heater maximum
under the 1-day heat mean) plus TAIL_CONTEXT_ROWS, the kept rows and a day of new rows."""


def farm_evidence(
    frames: dict[str, pd.DataFrame],
    baselines: Baselines | None = None,
    tail: int | None = None,
    *,
    on_grid: bool = False,
) -> dict[str, HouseEvidence]:
    """Evidence streams of every house of one farm, on a common 5-minute grid.

    `baselines` records (fit) or replays (update) the hourly median/MAD baselines; `tail` as in
    grid_evidence. `on_grid`: the frames are already `prepare`d.
    """
    if not on_grid:
        frames = {house: prepare(frame) for house, frame in frames.items() if not frame.empty}
    return grid_evidence(FarmGrid.from_frames(frames), baselines, tail)


def grid_evidence(
    grid: FarmGrid, baselines: Baselines | None = None, tail: int | None = None
) -> dict[str, HouseEvidence]:
    """Evidence streams of every house of the grid.

    With `tail`, only the last `tail + TREND_ROWS` rows are returned (the extra TREND_ROWS give
    time_to_failure its 6 h of history) and only what they read is computed: the derivations
    and link checks on the last rows plus the longest lookback (one cut of the tables serves
    them all; numpy makes the extra rows of the shorter windows nearly free), the pack medians,
    trends and probe checks on the returned rows plus TAIL_CONTEXT_ROWS. The values on the
    returned rows are the same as a run over everything (every window they read lies inside the
    rows computed).
    """
    rows = len(grid.index)
    if not rows or not grid.houses:
        return {}
    keep = rows if tail is None else min(rows, tail + TREND_ROWS)
    evaluate = rows if tail is None else min(rows, keep + TAIL_CONTEXT_ROWS)
    lookback = max(family.lookback for family in FAMILIES)
    window = Window(
        grid=grid,
        context=grid.last(evaluate + lookback),
        rows=rows,
        evaluate=evaluate,
        keep=keep,
        baselines=baselines,
    )
    streams: dict[str, list[Evidence]] = {house: [] for house in grid.houses}
    for family in FAMILIES:
        for house, found in family.streams(window).items():
            streams[house].extend(found)
    index = grid.index[rows - keep :]
    return {house: HouseEvidence(index=index, streams=found) for house, found in streams.items()}
