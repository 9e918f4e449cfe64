"""Heating signals of the pack family: how hard the heaters work, and per degree of demand.

  heat_effort       heaters running as share of the most seen (2 h mean): all on, or none,
                    while the pack heats
  heat_load(_daily) heater run time against the house's own heat-demand line (12 h / 24 h)

Heater run time against the house's own heat-demand line:

A wearing heater (less heat per hour: a fouled burner, a weak fan, low gas pressure) does not
show in the house temperature at first: the controller runs the heaters longer and holds the set
point. What it cannot hide is the run time *per degree of heat demand*. The heaters of a house
run in proportion to how far the set point is above the outside temperature, less the heat the
birds make themselves:

    heaters running  =  slope x (set point - outside temperature)  -  offset

`slope` is the house's heat loss divided by the heat one heater delivers; `offset` is the birds'
own heat (it grows slowly with the flock). Wear divides the heat per heater by its remaining
capacity, so the slope and the run time rise by the same factor at every demand, whatever the
weather. So for every house:

1. the demand line is fitted (least squares) on its own rows of the three days that end one day
   before, only where some but not all heaters ran during the hour before (off and flat out are
   the ends of the line, not on it; choosing the rows by the previous hour, not by the row itself,
   keeps the on/off noise of a row out of the choice);
2. that line says how many heaters the house should run now, at this hour's demand;
3. the evidence is the log ratio of the heaters that ran to the heaters the line expected, summed
   over the last 12 hours (`heat_load`) and 24 hours (`heat_load_daily`: heaters that only run
   at night need the whole day), in percent.

The pack machinery (evidence/pack.py) then compares each house's ratio with the median of its
sibling houses (weather, a cold snap or a common mistake in the line cancel) and with the
ratio's own past. The line is learnt a day late, so a wear that develops over days is not learnt
away while it happens; the birds' growing heat over that day moves every house of the pack
alike.

Needs `heaters_running`, `set_temperature` and `outside_temperature`; a house without them gets
no heating-load evidence (never a made-up value).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ml_analyzer.detectors.arrays import (
    FloatArray,
    rolling_max,
    rolling_mean,
    rolling_sum,
    shifted,
)
from ml_analyzer.detectors.evidence.base import EvidenceSpec, Signal

ROWS_PER_HOUR = 12
ROWS_PER_DAY = 24 * ROWS_PER_HOUR
FIT_ROWS = 3 * ROWS_PER_DAY
"""Rows of the demand-line fit (three days: enough cold nights and mild afternoons)."""
FIT_MIN_ROWS = ROWS_PER_DAY
"""A line needs a day of data in its window before it is used."""
FIT_LAG_ROWS = ROWS_PER_DAY
"""The fit ends this many rows before the row it predicts (as the baselines do)."""
FIT_MIN_POINTS = 6 * ROWS_PER_HOUR
"""Rows in the heaters' working range the fit needs (six hours)."""
FIT_MIN_SPREAD = 1.0
"""Standard deviation of the demand (°C) the fit needs: a flat demand gives no slope."""
MOST_ROWS = 3 * ROWS_PER_DAY
"""Window of the most heaters seen running (the installed heaters, as far as the data shows)."""
WORKING_MARGIN = 0.5
"""The previous hour's mean must be this many heaters above none and below the most seen."""
SHORT_ROWS = 12 * ROWS_PER_HOUR
LONG_ROWS = ROWS_PER_DAY
PRIOR_HEATERS = 0.5
"""Heaters added to both sums of the ratio per row: hours with (almost) no heat demand carry
almost no evidence instead of dividing one small number by another."""
HEAT_LOAD_LOOKBACK = MOST_ROWS + ROWS_PER_HOUR + 1 + FIT_ROWS + FIT_LAG_ROWS + LONG_ROWS
"""Rows before a row that its heat-load values read (the chained windows, exactly or more)."""


def heat_load(tables: dict[str, pd.DataFrame]) -> dict[str, pd.DataFrame]:
    """`heat_load` and `heat_load_daily`: 100 x ln(heaters run / heaters the demand line expects).

    Tables are rows of the 5-minute grid x houses per role. Houses that do not report all three
    roles are left out; rows without a line (the first days, no heating season) are NaN. Plain
    arrays inside (detectors/arrays.py): this runs on every tick of every farm.
    """
    names = ("heaters_running", "set_temperature", "outside_temperature")
    if any(name not in tables for name in names):
        return {}
    houses = tables[names[0]].columns
    for name in names[1:]:
        houses = houses.intersection(tables[name].columns, sort=False)
    if houses.empty:
        return {}
    index = tables[names[0]].index
    running = tables["heaters_running"][houses].to_numpy(dtype=float)
    demand = tables["set_temperature"][houses].to_numpy(dtype=float) - tables[
        "outside_temperature"
    ][houses].to_numpy(dtype=float)
    expected = _expected_running(running, demand)
    counted = ~np.isnan(expected) & ~np.isnan(running)
    prior = np.where(counted, PRIOR_HEATERS, 0.0)
    heaters = np.where(counted, running, 0.0) + prior
    predicted = np.where(counted, expected, 0.0) + prior
    result: dict[str, pd.DataFrame] = {}
    for name, rows in (("heat_load", SHORT_ROWS), ("heat_load_daily", LONG_ROWS)):
        ran = rolling_sum(heaters, rows)
        due = rolling_sum(predicted, rows)
        seen = rolling_sum(counted.astype(float), rows)
        valid = (seen >= rows // 2) & (ran > 0.0) & (due > 0.0)
        ratio = np.full(ran.shape, np.nan)
        ratio[valid] = 100.0 * (np.log(ran[valid]) - np.log(due[valid]))
        result[name] = pd.DataFrame(ratio, index=index, columns=houses)
    return result


def _expected_running(running: FloatArray, demand: FloatArray) -> FloatArray:
    """Heaters each house's demand line (fitted a day earlier) expects at each row.

    Rolling sums give every row's least-squares line over the window at once; the line is
    clipped to the heaters' range (none .. the most seen running).
    """
    most = np.maximum(rolling_max(running, MOST_ROWS), 1.0)
    before = rolling_mean(shifted(running), ROWS_PER_HOUR, ROWS_PER_HOUR // 2)
    with np.errstate(invalid="ignore"):
        working = (
            (before >= WORKING_MARGIN)
            & (before <= most - WORKING_MARGIN)
            & ~np.isnan(running)
            & ~np.isnan(demand)
        )

    def window_sum(values: FloatArray) -> FloatArray:
        summed = rolling_sum(np.where(working, values, 0.0), FIT_ROWS, FIT_MIN_ROWS)
        lagged = np.full(summed.shape, np.nan)
        if len(summed) > FIT_LAG_ROWS:
            lagged[FIT_LAG_ROWS:] = summed[: len(summed) - FIT_LAG_ROWS]
        return lagged

    count = window_sum(np.ones_like(running))
    sum_x = window_sum(demand)
    sum_y = window_sum(running)
    sum_xx = window_sum(demand * demand)
    sum_xy = window_sum(demand * running)
    variance = count * sum_xx - sum_x * sum_x
    with np.errstate(invalid="ignore"):
        usable = (count >= FIT_MIN_POINTS) & (variance >= (FIT_MIN_SPREAD * count) ** 2)
    expected = np.full(running.shape, np.nan)
    slope = (count[usable] * sum_xy[usable] - sum_x[usable] * sum_y[usable]) / variance[usable]
    intercept = (sum_y[usable] - slope * sum_x[usable]) / count[usable]
    line = intercept + slope * demand[usable]
    expected[usable] = np.minimum(np.maximum(line, 0.0), most[usable])
    return expected


EFFORT_MOST_ROWS = 7 * ROWS_PER_DAY
"""Window of the most heaters seen running for heat_effort (a week)."""
EFFORT_ROWS = 2 * ROWS_PER_HOUR


def heat_effort(tables: dict[str, pd.DataFrame]) -> dict[str, pd.DataFrame]:
    """`heat_effort`: heaters running as a share of the most seen in a week, 2 h mean."""
    heaters = tables.get("heaters_running")
    if heaters is None:
        return {}
    running = heaters.to_numpy(dtype=float)
    most = np.maximum(rolling_max(running, EFFORT_MOST_ROWS), 1.0)
    effort = rolling_mean(running / most, EFFORT_ROWS, EFFORT_ROWS // 3)
    return {"heat_effort": pd.DataFrame(effort, index=heaters.index, columns=heaters.columns)}


def _load_spec(unit: str) -> EvidenceSpec:
    return EvidenceSpec(
        signal="heaters_running", floor=2.0, up="heating", down="heating", unit=unit, slow=True
    )


HEAT_EFFORT = Signal(
    lookback=EFFORT_MOST_ROWS + EFFORT_ROWS,
    derive=heat_effort,
    specs={
        "heat_effort": EvidenceSpec(
            signal="heaters_running", floor=0.05, up="heating", down="heating", unit="share"
        )
    },
)
HEAT_LOAD = Signal(
    lookback=HEAT_LOAD_LOOKBACK,
    derive=heat_load,
    specs={
        "heat_load": _load_spec("% vs demand line, 12 h"),
        "heat_load_daily": _load_spec("% vs demand line, 24 h"),
    },
)
