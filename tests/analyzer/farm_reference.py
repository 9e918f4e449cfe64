"""Reference code of the farm detector tests: the batch judge and the pandas-era helpers.

None of this runs in the service. `judge` / `analyze` are the batch path the incremental
analyzer must agree with (alarm_state over every row up to the judged one, then the same
`decide`); `probe_evidence` and `robust_z` are the frame / Series forms of the array code the
probe tests compare with; `step_alarm` is `step_alarms` for one stream.
"""

from __future__ import annotations

from datetime import datetime

import numpy as np
import numpy.typing as npt
import pandas as pd
from ml_analyzer.detectors.alarms import SENSITIVITY, AlarmCarry, SensitivityLevel, alarm_state
from ml_analyzer.detectors.alarms import step_alarms as _step_alarms
from ml_analyzer.detectors.analyzer import enough_points
from ml_analyzer.detectors.arrays import FloatArray
from ml_analyzer.detectors.baselines import Baselines, hourly_baseline
from ml_analyzer.detectors.decision import HouseResult, decide
from ml_analyzer.detectors.engine import farm_evidence
from ml_analyzer.detectors.evidence import Evidence, HouseEvidence
from ml_analyzer.detectors.evidence.probes import MIN_PROBES, PROBE_PREFIX, probe_streams
from ml_analyzer.detectors.live import frame_arrays


def analyze(frames: dict[str, pd.DataFrame], sensitivity: str) -> dict[str, HouseResult]:
    """Judge every house at the last time of the farm's data."""
    results: dict[str, HouseResult] = {}
    for house, evidence in farm_evidence(frames).items():
        if not enough_data(frames[house]):
            continue
        result = judge(evidence, sensitivity, len(evidence.index) - 1)
        if result is not None:
            results[house] = result
    return results


def enough_data(frame: pd.DataFrame) -> bool:
    """Two days of measured inside temperature (what every baseline needs), at least hourly."""
    if "temperature" not in frame:
        return False
    times, values = frame_arrays(frame[["temperature"]])
    return enough_points(times, values[:, 0])


def judge(evidence: HouseEvidence, sensitivity: str, at: int) -> HouseResult | None:
    """The house's result at grid row `at` from its evidence streams (batch: every row to `at`)."""
    level = SENSITIVITY[sensitivity]
    states: dict[str, AlarmCarry] = {}
    for stream in evidence.streams:
        state = alarm_state(stream.z.iloc[: at + 1], level, stream.slow)
        states[stream.name] = AlarmCarry(
            on=bool(state[at] >= 1.0), since=since_of(state, evidence.index, at)
        )
    return decide(evidence, sensitivity, at, states)


def since_of(state: FloatArray, index: pd.DatetimeIndex, at: int) -> datetime | None:
    """Start of the alarm episode that is on at row `at`."""
    if state[at] < 1.0:
        return None
    start = at
    while start > 0 and state[start - 1] >= 1.0:
        start -= 1
    stamp: datetime = index[start].to_pydatetime()
    return stamp


def step_alarm(
    z: FloatArray,
    index: pd.DatetimeIndex,
    level: SensitivityLevel,
    slow: bool,
    carry: AlarmCarry,
) -> AlarmCarry:
    """alarm_state continued over new rows for one stream (step_alarms of a single stream)."""
    if len(z) == 0:
        return carry
    return _step_alarms(np.asarray(z, dtype=float)[None, :], index, level, [slow], [carry])[0]


def probe_evidence(
    frame: pd.DataFrame, house: str = "", baselines: Baselines | None = None
) -> list[Evidence]:
    """Each probe against the median of the other probes of the same house (one frame)."""
    probes = sorted(c for c in frame.columns if c.startswith(PROBE_PREFIX))
    if len(probes) < MIN_PROBES:
        return []
    block = frame[probes].to_numpy(dtype=float)
    return probe_streams(block, pd.DatetimeIndex(frame.index), probes, house, baselines)


def robust_z(
    residual: pd.Series, floor: float, key: str = "", baselines: Baselines | None = None
) -> tuple[pd.Series, pd.Series]:
    """(z, typical residual) against its own baseline: median / MAD over 5 days ending a day ago."""
    index = pd.DatetimeIndex(residual.index)
    values: npt.NDArray[np.float64] = residual.to_numpy(dtype=float)
    median, mad = hourly_baseline(values, index, key, baselines)
    spread = np.maximum(1.4826 * mad, floor)
    z = (values - median) / spread
    return pd.Series(z, index=index), pd.Series(median, index=index)
