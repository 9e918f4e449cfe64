"""Stage 6, the decision: what a house's entities show, from its streams and their alarms.

`decide` picks the alarming stream with the largest |z| (else the strongest stream), names the
subsystem its direction points at, and turns it into the `HouseResult` a farmer sees: scores,
failure risk, time to failure and a one-sentence explanation. The batch path (tests, benches)
and the incremental one (FarmAnalyzer.update) differ only in how they know the alarm states.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np

from ml_analyzer.detectors.alarms import SENSITIVITY, AlarmCarry, SensitivityLevel
from ml_analyzer.detectors.coverage import coverage_at, describe
from ml_analyzer.detectors.evidence import Evidence, HouseEvidence
from ml_analyzer.detectors.grid import ROWS_PER_HOUR


@dataclass(frozen=True)
class HouseResult:
    """What the analyzer reports for one house (the fields of `rotem_farm.report_analysis`)."""

    anomaly: bool
    anomaly_score: float
    failure_risk: float
    subsystem: str
    explanation: str
    signal: str | None
    expected: float | None
    actual: float | None
    since: datetime | None
    time_to_failure_hours: float | None
    watched: tuple[str, ...] = ()
    """The subsystems the house's evidence sees now (coverage.SUBSYSTEMS order)."""
    not_watched: Mapping[str, str] = field(default_factory=dict)
    """Every other subsystem with the reason it is not watched ("no water meter")."""
    unit: str | None = None
    """Unit of `actual` and `expected` (for a translated text built from the fields)."""
    check: str | None = None
    """What to check, as a key of CHECKS ("heaters", "water_leak", ...), while a stream points
    at a subsystem; the sentence says it in English, an integration can translate the key."""


CHECKS = {
    "heaters": "Check the heaters and the gas supply",
    "ventilation": "Check the fans, their belts and the air inlets",
    "water_leak": "Check the drinker lines for a leak",
    "water_supply": "Check the water supply and the drinker lines for a blockage",
    "feed_line": "Check the feed line and the auger",
    "probe": "Check the temperature probe (clean, recalibrate or replace it)",
    "controller_link": "Check the controller's power and its network connection",
}
"""What a farmer should check, per hint key (HouseResult.check)."""

SIGNAL_WORDS = {
    "temperature": "Temperature",
    "humidity": "Humidity",
    "static_pressure": "Static pressure",
    "heaters_running": "Heater run time",
    "water_daily": "Water intake",
    "feed_daily": "Feed intake",
    "connection": "Controller connection",
}
"""A signal as a farmer reads it (probe_temperature_<n> becomes "Temperature probe <n>")."""


def check_of(subsystem: str, z: float) -> str | None:
    """The hint key for a stream pointing at `subsystem` (a rise of water is a leak)."""
    if subsystem == "heating":
        return "heaters"
    if subsystem == "water":
        return "water_leak" if z >= 0 else "water_supply"
    if subsystem == "feed":
        return "feed_line"
    if subsystem == "sensor":
        return "probe"
    if subsystem in ("ventilation", "controller_link"):
        return subsystem
    return None


def decide(
    evidence: HouseEvidence,
    sensitivity: str,
    at: int,
    states: dict[str, AlarmCarry],
    timezone: str = "UTC",
) -> HouseResult | None:
    """The house's result at row `at`, given each stream's alarm state at that row.

    `timezone` (the Home Assistant instance's, an IANA name) is the clock of the sentence.

    The batch path (`judge`) and the incremental one (`FarmAnalyzer.update`) differ only in how
    they know the alarm states; everything a farmer sees is decided here. None (the entities
    stay unknown) while nothing is watched and no alarm is on: "normal" is only said about
    what is watched (coverage.py).
    """
    watched, not_watched = coverage_at(evidence, at)
    alarming = any(states.get(stream.name, AlarmCarry()).on for stream in evidence.streams)
    if not watched and not alarming:
        return None
    level = SENSITIVITY[sensitivity]
    best: tuple[float, Evidence, AlarmCarry] | None = None
    alarmed: tuple[float, Evidence, AlarmCarry] | None = None
    for stream in evidence.streams:
        value = float(stream.z.iloc[at])
        z = value if np.isfinite(value) else 0.0
        state = states.get(stream.name, AlarmCarry())
        entry = (abs(z), stream, state)
        if best is None or abs(z) > best[0]:
            best = entry
        if state.on and (alarmed is None or abs(z) > alarmed[0]):
            alarmed = entry
    if best is None:
        return None
    magnitude, stream, state = alarmed or best
    anomaly = alarmed is not None
    z_now = float(np.nan_to_num(stream.z.iloc[at]))
    subsystem = stream.subsystem_up if z_now >= 0 else stream.subsystem_down
    if not anomaly and magnitude < level.z_off:
        subsystem = "none"
    score = score_of(max(best[0], magnitude), level)
    ttf = time_to_failure(stream, at) if anomaly else None
    risk = score_of(magnitude, level) if subsystem != "none" else 0.0
    if ttf is not None:
        risk = max(risk, 100.0 * float(np.exp(-ttf / 48.0)))
    actual = _finite(stream.actual.iloc[at])
    expected = _finite(stream.expected.iloc[at])
    since = state.since if anomaly else None
    check = check_of(subsystem, z_now) if subsystem != "none" else None
    now = evidence.index[at].to_pydatetime() if len(evidence.index) > at else None
    return HouseResult(
        anomaly=anomaly,
        anomaly_score=round(score, 1),
        failure_risk=round(min(risk, 100.0), 1),
        subsystem=subsystem,
        explanation=explain(
            stream,
            z=z_now,
            actual=actual,
            expected=expected,
            since=since,
            anomaly=anomaly,
            subsystem=subsystem,
            watched=watched,
            not_watched=not_watched,
            check=check,
            now=now,
            timezone=timezone,
        ),
        signal=stream.signal if anomaly or subsystem != "none" else None,
        expected=expected,
        actual=actual,
        since=since,
        time_to_failure_hours=None if ttf is None else round(ttf, 1),
        watched=watched,
        not_watched=dict(not_watched),
        unit=stream.unit or None,
        check=check,
    )


def _finite(value: Any) -> float | None:
    """The value rounded for the report; None where it is missing or not a number."""
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return round(number, 3) if np.isfinite(number) else None


def explain(
    stream: Evidence,
    *,
    z: float,
    actual: float | None,
    expected: float | None,
    since: datetime | None,
    anomaly: bool,
    subsystem: str,
    watched: tuple[str, ...] = (),
    not_watched: Mapping[str, str] | None = None,
    check: str | None = None,
    now: datetime | None = None,
    timezone: str = "UTC",
) -> str:
    """Sentences a farmer can act on: what the signal reads against what is usual, in its
    units, for how long and since when (the HA instance's local time), and what to check; then
    what is not watched and why (nothing is called normal that is not watched)."""
    coverage = describe(watched, not_watched or {})
    suffix = f". {coverage}" if coverage else ""
    if not anomaly and subsystem == "none":
        if not coverage:
            return "All signals within their normal range"
        seen = ", ".join(name.replace("_", " ") for name in watched)
        return f"Within normal range: {seen}{suffix}"
    if stream.name == "link_frequency":
        dropped = f"Watch: the controller link dropped {abs(z):.0f} times in the last 3 days"
        return dropped + suffix
    direction = "above" if z >= 0 else "below"
    what = _reading(stream, direction, actual, expected)
    when = _when(since, now, timezone)
    advice = f". {CHECKS[check]}" if check in CHECKS else ""
    prefix = "" if anomaly else "Watch: "
    return f"{prefix}{what}{when}{advice}{suffix}"


def signal_words(signal: str) -> str:
    """A signal name as a farmer reads it."""
    if signal.startswith("probe_temperature_"):
        return f"Temperature probe {signal.removeprefix('probe_temperature_')}"
    return SIGNAL_WORDS.get(signal, signal.replace("_", " ").capitalize())


def _reading(stream: Evidence, direction: str, actual: float | None, expected: float | None) -> str:
    """ "Temperature 3.9 °C below set point (usually +0.1 °C)", "Water intake 60 % above usual
    (0.72 vs 0.45 L/1000 birds/5 min)": the values in the signal's own units."""
    words = signal_words(stream.signal)
    if stream.name in ("link", "link_frequency"):
        return f"{words} lost"
    if actual is None or expected is None:
        return f"{words} {direction} normal"
    unit = f" {stream.unit}" if stream.unit else ""
    targets = {"climate": "set point", "pressure": "target"}
    target = next((name for key, name in targets.items() if stream.name.startswith(key)), None)
    if target is not None:
        # These streams are the signal minus its set point / target: a farmer's own terms.
        usual = round(expected, 1) + 0.0  # never "-0.0"
        return (
            f"{words} {abs(actual):.1f}{unit} {'above' if actual >= 0 else 'below'} {target}"
            f" (usually {usual:+.1f}{unit})"
        )
    if expected > 0 and actual >= 0 and stream.signal in ("water_daily", "feed_daily"):
        change = 100.0 * (actual / expected - 1.0)
        return (
            f"{words} {abs(change):.0f} % {'above' if change >= 0 else 'below'} usual"
            f" ({actual:.2f} vs {expected:.2f}{unit})"
        )
    return f"{words} {direction} normal ({actual:.2f} vs usual {expected:.2f}{unit})"


def _when(since: datetime | None, now: datetime | None, timezone: str) -> str:
    """ ", for 2 h 10 min, since 02:10" in the HA instance's time zone (the date too when the
    episode began on another day)."""
    if since is None:
        return ""
    zone = ZoneInfo(timezone)
    local = since.astimezone(zone)
    text = ""
    if now is not None and now >= since:
        minutes = int((now - since).total_seconds() // 60)
        hours, rest = divmod(minutes, 60)
        text = f", for {hours} h {rest} min" if hours else f", for {rest} min"
        if local.date() != now.astimezone(zone).date():
            return f"{text}, since {local:%d %b %H:%M}"
    return f"{text}, since {local:%H:%M}"


def score_of(z: float, level: SensitivityLevel) -> float:
    """0..100 score: 50 at the alarm threshold, approaching 100 far beyond it."""
    magnitude = abs(z)
    return 100.0 * magnitude**2 / (magnitude**2 + level.z_on**2)


def time_to_failure(evidence: Evidence, at: int) -> float | None:
    """Hours until |actual - expected| reaches the failure limit, from the last 6 h trend."""
    if evidence.limit is None or at < 2 * ROWS_PER_HOUR:
        return None
    gap = (evidence.actual - evidence.expected).iloc[max(0, at - 6 * ROWS_PER_HOUR) : at + 1]
    gap = gap.dropna()
    if len(gap) < ROWS_PER_HOUR:
        return None
    hours = np.arange(len(gap)) / ROWS_PER_HOUR
    slope, intercept = np.polyfit(hours, gap.to_numpy(dtype=float), 1)
    current = intercept + slope * hours[-1]
    if abs(current) >= evidence.limit:
        return 0.0
    toward = slope if current >= 0 else -slope
    if toward <= 1e-6:
        return None
    return float((evidence.limit - abs(current)) / toward)
