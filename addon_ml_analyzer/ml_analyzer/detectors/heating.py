"""Heating evidence: heater run time against the house's own heat-demand line.

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

The pack machinery (farm.py) then compares each house's ratio with the median of its sibling
houses (weather, a cold snap or a common mistake in the line cancel) and with the ratio's own
past. The line is learnt a day late, so a wear that develops over days is not learnt away while
it happens; the birds' growing heat over that day moves every house of the pack alike.

Needs `heaters_running`, `set_temperature` and `outside_temperature`; a house without them gets
no heating-load evidence (never a made-up value).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

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
    roles are left out; rows without a line (the first days, no heating season) are NaN.
    """
    names = ("heaters_running", "set_temperature", "outside_temperature")
    if any(name not in tables for name in names):
        return {}
    houses = tables[names[0]].columns
    for name in names[1:]:
        houses = houses.intersection(tables[name].columns, sort=False)
    if houses.empty:
        return {}
    running = tables["heaters_running"][houses].astype(float)
    demand = (tables["set_temperature"][houses] - tables["outside_temperature"][houses]).astype(
        float
    )
    expected = _expected_running(running, demand)
    counted = expected.notna() & running.notna()
    heaters = running.where(counted, 0.0)
    predicted = expected.where(counted, 0.0)
    prior = counted.astype(float) * PRIOR_HEATERS
    result: dict[str, pd.DataFrame] = {}
    for name, rows in (("heat_load", SHORT_ROWS), ("heat_load_daily", LONG_ROWS)):
        ran = (heaters + prior).rolling(rows, min_periods=1).sum()
        due = (predicted + prior).rolling(rows, min_periods=1).sum()
        seen = counted.astype(float).rolling(rows, min_periods=1).sum()
        ratio = 100.0 * (np.log(ran.where(ran > 0.0)) - np.log(due.where(due > 0.0)))
        result[name] = ratio.where(seen >= rows // 2)
    return result


def _expected_running(running: pd.DataFrame, demand: pd.DataFrame) -> pd.DataFrame:
    """Heaters each house's demand line (fitted a day earlier) expects at each row.

    Rolling sums give every row's least-squares line over the window at once; the line is
    clipped to the heaters' range (none .. the most seen running).
    """
    most = running.rolling(MOST_ROWS, min_periods=1).max().clip(lower=1.0)
    before = running.shift(1).rolling(ROWS_PER_HOUR, min_periods=ROWS_PER_HOUR // 2).mean()
    working = (
        (before >= WORKING_MARGIN)
        & (before <= most - WORKING_MARGIN)
        & running.notna()
        & demand.notna()
    )

    def window_sum(values: pd.DataFrame) -> pd.DataFrame:
        summed = values.where(working, 0.0).rolling(FIT_ROWS, min_periods=FIT_MIN_ROWS).sum()
        return summed.shift(FIT_LAG_ROWS)

    count = window_sum(working.astype(float))
    sum_x = window_sum(demand)
    sum_y = window_sum(running)
    sum_xx = window_sum(demand * demand)
    sum_xy = window_sum(demand * running)
    variance = count * sum_xx - sum_x * sum_x
    usable = (count >= FIT_MIN_POINTS) & (variance >= (FIT_MIN_SPREAD * count) ** 2)
    slope = ((count * sum_xy - sum_x * sum_y) / variance.where(usable)).where(usable)
    intercept = (sum_y - slope * sum_x) / count
    expected: pd.DataFrame = (intercept + slope * demand).clip(lower=0.0).clip(upper=most)
    return expected
