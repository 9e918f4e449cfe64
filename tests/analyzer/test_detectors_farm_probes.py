"""Probe evidence on arrays gives the values of the former pandas implementation.

`_reference_probe_evidence` is the pandas code `_probe_evidence` had before it moved to numpy
(per probe: median of the other probes, rolling windows, robust z), kept here verbatim as the
reference. The data is messy on purpose: gaps, a probe missing for hours, a stuck probe, a
drifting one, a noisy one, a probe that never reports and probes at exactly equal values.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from ml_analyzer.detectors.arrays import rolling_mean
from ml_analyzer.detectors.baselines import Baselines
from ml_analyzer.detectors.engine import TAIL_CONTEXT_ROWS, grid_evidence
from ml_analyzer.detectors.evidence import Evidence
from ml_analyzer.detectors.evidence.base import TREND_FLOOR_DIVISOR, TREND_ROWS
from ml_analyzer.detectors.evidence.probes import PROBE_FLOOR
from ml_analyzer.detectors.grid import ROWS_PER_HOUR, FarmGrid

from tests.analyzer.farm_reference import probe_evidence as _probe_evidence
from tests.analyzer.farm_reference import robust_z as _robust_z

START = pd.Timestamp("2026-03-02T00:00:00Z")


def _smooth(series: pd.Series, rows: int) -> pd.Series:
    """The trailing mean the former code used (a third of the rows present)."""
    values = rolling_mean(series.to_numpy(dtype=float), rows, max(rows // 3, 1))
    return pd.Series(values, index=series.index, name=series.name)


def _reference_probe_evidence(
    frame: pd.DataFrame, house: str = "", baselines: Baselines | None = None
) -> list[Evidence]:
    """The former implementation of _probe_evidence (pandas, per probe)."""
    probes = sorted(c for c in frame.columns if c.startswith("probe_temperature_"))
    streams: list[Evidence] = []
    if len(probes) < 3:
        return streams
    block = frame[probes]
    spread_others = block.diff().abs()
    for probe in probes:
        others = block.drop(columns=[probe])
        reference = others.median(axis=1)
        residual = _smooth(block[probe] - reference, ROWS_PER_HOUR)
        z, typical = _robust_z(residual, PROBE_FLOOR, f"{house}/{probe}", baselines)
        still = block[probe].diff().abs().rolling(2 * ROWS_PER_HOUR, min_periods=ROWS_PER_HOUR)
        moving = (
            spread_others.drop(columns=[probe])
            .median(axis=1)
            .rolling(2 * ROWS_PER_HOUR, min_periods=ROWS_PER_HOUR)
        )
        stuck = (still.max() < 1e-6) & (moving.mean() > 0.01)
        gone = block[probe].isna() & others.notna().any(axis=1)
        gone_share = gone.astype(float).rolling(ROWS_PER_HOUR, min_periods=1).mean()
        z = z.where(~stuck, np.sign(z.fillna(1.0)).replace(0, 1.0) * 10.0)
        z = z.mask(gone_share >= 0.5, 10.0)
        expected = reference + typical
        streams.append(
            Evidence(
                name=probe,
                signal=probe,
                z=z,
                actual=block[probe],
                expected=expected,
                subsystem_up="sensor",
                subsystem_down="sensor",
                unit="°C",
                limit=3.0,
            )
        )
        drift = _smooth(block[probe] - reference, TREND_ROWS)
        drift_z, drift_typical = _robust_z(
            drift, PROBE_FLOOR / TREND_FLOOR_DIVISOR, f"{house}/{probe}_trend", baselines
        )
        streams.append(
            Evidence(
                name=f"{probe}_trend",
                signal=probe,
                z=drift_z,
                actual=block[probe],
                expected=reference + drift_typical,
                subsystem_up="sensor",
                subsystem_down="sensor",
                unit="°C",
                limit=3.0,
                slow=True,
            )
        )
    return streams


def messy_probes(seed: int, days: int = 8, probes: int = 6) -> pd.DataFrame:
    """A house's probes with every fault the detector looks for, and holes in the data."""
    rng = np.random.default_rng(seed)
    rows = days * 288
    index = pd.date_range(START, periods=rows, freq="5min")
    hours = np.arange(rows) / 12.0
    air = 24.0 + 2.0 * np.sin(2 * np.pi * hours / 24.0) + np.cumsum(rng.normal(0, 0.02, rows))
    frame = pd.DataFrame(
        {
            f"probe_temperature_{n}": air + 0.2 * n + rng.normal(0, 0.05, rows)
            for n in range(1, probes + 1)
        },
        index=index,
    )
    values = frame.to_numpy(copy=True)
    at = rng.integers(288, rows - 300, size=6)
    values[at[0] :, 0] = values[at[0], 0]  # stuck for good
    values[at[1] :, 1] += np.linspace(0.0, 3.0, rows - at[1])  # drift
    values[at[2] : at[2] + 200, 2] = np.nan  # dropout
    if probes > 3:
        values[at[3] :, 3] += rng.normal(0, 0.8, rows - at[3])  # noisy
    values[rng.random(values.shape) < 0.03] = np.nan  # scattered gaps
    values[at[4] : at[4] + 40, :] = np.nan  # the whole house silent
    if probes > 5:
        values[at[5] : at[5] + 30, 4] = values[at[5] : at[5] + 30, 5]  # two probes equal
    if probes > 6:
        values[:, 6] = np.nan  # a probe that never reports
    return pd.DataFrame(values, index=index, columns=frame.columns)


def _assert_same(new: list[Evidence], old: list[Evidence]) -> None:
    assert [(s.name, s.signal, s.slow, s.limit, s.unit) for s in new] == [
        (s.name, s.signal, s.slow, s.limit, s.unit) for s in old
    ]
    for fresh, former in zip(new, old, strict=True):
        for part in ("z", "actual", "expected"):
            got, want = getattr(fresh, part), getattr(former, part)
            assert got.index.equals(want.index)
            np.testing.assert_allclose(
                got.to_numpy(dtype=float), want.to_numpy(dtype=float), rtol=1e-9, atol=1e-9
            )
        assert (fresh.z.abs() >= 10.0).sum() == (former.z.abs() >= 10.0).sum()


@pytest.mark.parametrize(("seed", "probes"), [(1, 6), (2, 7), (3, 3), (4, 8)])
def test_probe_evidence_equals_the_pandas_reference(seed: int, probes: int) -> None:
    frame = messy_probes(seed, probes=probes)
    frame["temperature"] = 20.0  # other roles are ignored
    _assert_same(_probe_evidence(frame, "h"), _reference_probe_evidence(frame, "h"))
    # The faults are in the data: stuck / dropout force |z| = 10 somewhere.
    assert any((s.z.abs() >= 10.0).any() for s in _probe_evidence(frame, "h"))


def test_probe_evidence_equals_the_reference_when_recording_and_replaying() -> None:
    frame = messy_probes(5, probes=8)
    recorded, reference_recorded = Baselines(), Baselines()
    _assert_same(
        _probe_evidence(frame, "h", recorded),
        _reference_probe_evidence(frame, "h", reference_recorded),
    )
    assert recorded.series.keys() == reference_recorded.series.keys()
    for key, (first, median, mad) in recorded.series.items():
        other = reference_recorded.series[key]
        assert first == other[0]
        np.testing.assert_allclose(median, other[1], rtol=1e-9, atol=1e-9)
        np.testing.assert_allclose(mad, other[2], rtol=1e-9, atol=1e-9)
    recorded.record = False
    tail = frame.iloc[-400:]
    _assert_same(
        _probe_evidence(tail, "h", recorded), _reference_probe_evidence(tail, "h", recorded)
    )


def test_fewer_than_three_probes_give_no_evidence() -> None:
    frame = messy_probes(6, probes=3).iloc[:, :2]
    assert _probe_evidence(frame) == []


@pytest.mark.parametrize("tail", [None, 12])
def test_grid_probe_streams_equal_the_reference_per_house(tail: int | None) -> None:
    frames = {"a": messy_probes(7, probes=7), "b": messy_probes(8, probes=4)}
    frames["c"] = messy_probes(9, probes=4).iloc[:, :2]  # two probes: no probe evidence
    grid = FarmGrid.from_frames(frames)
    found = grid_evidence(grid, None, tail)
    for house in ("a", "b"):
        rows = len(found[house].index)
        evaluated = (
            frames[house] if tail is None else frames[house].iloc[-(rows + TAIL_CONTEXT_ROWS) :]
        )
        want = [
            Evidence(
                name=s.name,
                signal=s.signal,
                z=s.z.iloc[-rows:],
                actual=s.actual.iloc[-rows:],
                expected=s.expected.iloc[-rows:],
                subsystem_up=s.subsystem_up,
                subsystem_down=s.subsystem_down,
                unit=s.unit,
                limit=s.limit,
                slow=s.slow,
            )
            for s in _reference_probe_evidence(evaluated, house)
        ]
        got = [s for s in found[house].streams if s.signal.startswith("probe_temperature_")]
        _assert_same(got, want)
    assert not any(s.signal.startswith("probe_") for s in found["c"].streams)
