"""Pack signals of the house climate: temperature against set point, humidity, static pressure.

climate      inside temperature minus set point (30 min mean)   below: heating, above: ventilation
humidity     inside humidity (1 h mean)                          up: water, down: ventilation
pressure     static pressure minus target (1 h mean)             ventilation (fan / belt wear)
"""

from __future__ import annotations

import pandas as pd

from ml_analyzer.detectors.arrays import rolling_mean
from ml_analyzer.detectors.evidence.base import EvidenceSpec, Signal
from ml_analyzer.detectors.grid import ROWS_PER_HOUR, Tables, as_table, both


def _climate(tables: Tables) -> dict[str, pd.DataFrame]:
    houses, inside, wanted = both(tables, "temperature", "set_temperature")
    if houses.empty:
        return {}
    deviation = rolling_mean(inside - wanted, ROWS_PER_HOUR // 2, ROWS_PER_HOUR // 6)
    return {"climate": as_table(tables["temperature"].index, houses, deviation)}


def _humidity(tables: Tables) -> dict[str, pd.DataFrame]:
    humidity = tables.get("humidity")
    if humidity is None:
        return {}
    smooth = rolling_mean(humidity.to_numpy(dtype=float), ROWS_PER_HOUR, ROWS_PER_HOUR // 3)
    return {"humidity": as_table(humidity.index, humidity.columns, smooth)}


def _pressure(tables: Tables) -> dict[str, pd.DataFrame]:
    houses, static, target = both(tables, "static_pressure", "target_pressure")
    if houses.empty:
        return {}
    smooth = rolling_mean(static - target, ROWS_PER_HOUR, ROWS_PER_HOUR // 3)
    return {"pressure": as_table(tables["static_pressure"].index, houses, smooth)}


CLIMATE = Signal(
    lookback=ROWS_PER_HOUR // 2,
    derive=_climate,
    specs={
        "climate": EvidenceSpec(
            signal="temperature",
            floor=0.25,
            up="ventilation",
            down="heating",
            unit="°C",
            limit=3.0,
            trend=True,
        )
    },
)
HUMIDITY = Signal(
    lookback=ROWS_PER_HOUR,
    derive=_humidity,
    specs={
        "humidity": EvidenceSpec(
            signal="humidity", floor=2.0, up="water", down="ventilation", unit="%"
        )
    },
)
PRESSURE = Signal(
    lookback=ROWS_PER_HOUR,
    derive=_pressure,
    specs={
        "pressure": EvidenceSpec(
            signal="static_pressure",
            floor=1.0,
            up="ventilation",
            down="ventilation",
            unit="Pa",
            trend=True,
        )
    },
)
