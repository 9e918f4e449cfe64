"""The broiler-house model: physics that a detector can rely on, and faults where they belong."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import pytest

from simulator import model
from simulator.scenario import FarmOptions, Fault, FaultEvent, Scenario, resolve
from tests.simulator.simhelpers import START


def _farm(seed: int = 11, **options: float) -> model.FarmModel:
    farm_options = FarmOptions(**options) if options else FarmOptions()  # type: ignore[arg-type]
    scenario = Scenario(farms=1, houses=4, seed=seed, farm_options={1: farm_options})
    return model.build_farms(scenario, START)[0]


def _times(hours: float, step_minutes: float = 5.0, start: datetime = START) -> model.FloatArray:
    return model.floats(model.epoch(start) + np.arange(0.0, hours * 3600.0, step_minutes * 60.0))


def _fault(
    kind: str, at: str, house: int = 2, duration: str | None = None, **params: float | str
) -> Fault:
    event = FaultEvent.from_dict(
        {"kind": kind, "farm": 1, "house": house, "at": at, "duration": duration, "params": params}
    )
    return resolve(event, START)


def test_set_point_curve_falls_from_chicks_to_slaughter() -> None:
    days = np.arange(-1.0, 43.0, dtype=np.float64)
    curve = model.set_point_curve(days)
    assert 32.0 <= curve[1] <= 33.0  # day 0
    assert 20.0 <= curve[-1] <= 21.0  # day 42
    assert np.all(np.diff(curve) <= 0.0)


def test_same_seed_same_values_other_seed_other_values() -> None:
    t = _times(24)
    first = model.evaluate(_farm(seed=5), _farm(seed=5).houses[0], t)
    again = model.evaluate(_farm(seed=5), _farm(seed=5).houses[0], t)
    other = model.evaluate(_farm(seed=6), _farm(seed=6).houses[0], t)
    for role in ("temperature", "humidity", "outside_temperature", "water_rate"):
        np.testing.assert_array_equal(first[role], again[role])
    assert not np.array_equal(first["temperature"], other["temperature"])


def test_a_single_instant_equals_the_same_instant_in_a_series() -> None:
    """Pure functions of time: the server's one-point answer matches the benchmark series."""
    farm = _farm()
    house = farm.houses[1]
    t = _times(30)
    series = model.evaluate(farm, house, t)
    single = model.evaluate(farm, house, t[123:124])
    for role in ("temperature", "heaters_running", "static_pressure", "vent_level"):
        assert single[role][0] == pytest.approx(series[role][123])


def test_inside_temperature_follows_the_set_point_without_faults() -> None:
    farm = _farm()
    for house in farm.houses:
        signals = model.evaluate(farm, house, _times(72))
        birds = signals["bird_count"] > 0
        deviation = np.abs(signals["temperature"] - signals["set_temperature"])[birds]
        assert deviation.size > 0
        assert np.percentile(deviation, 95) < 1.5
        humidity = signals["humidity"][birds]
        assert 40.0 < np.median(humidity) < 75.0
        pressure = signals["static_pressure"][birds]
        assert abs(np.median(pressure) - house.target_pressure) < 2.0


def test_flock_calendar_places_grows_and_empties() -> None:
    farm = _farm()
    house = farm.houses[0]
    t = model.epoch(START) + np.arange(0.0, 120 * model.DAY, model.DAY / 4)
    signals = model.evaluate(farm, house, t)
    growth = signals["growth_day"]
    present = ~np.isnan(growth)
    assert np.nanmax(growth) == model.LAST_GROWTH_DAY
    assert np.nanmin(growth) == -1
    assert (~present).any(), "the house stands empty between flocks"
    assert np.all(signals["bird_count"][~present] == 0)
    birds = signals["bird_count"][present & (growth >= 0)]
    assert birds.max() > 15000
    # Mortality only ever removes birds within a flock.
    flock = present & (growth >= 0)
    first_flock_end = int(np.argmax(~flock[np.argmax(flock) :])) + int(np.argmax(flock))
    run = signals["bird_count"][int(np.argmax(flock)) : first_flock_end]
    assert np.all(np.diff(run) <= 0)


def test_daily_totals_reset_at_local_midnight() -> None:
    farm = _farm(utc_offset_hours=-4.0)
    house = farm.houses[0]
    local_midnight = datetime(2026, 11, 24, 4, 0, tzinfo=UTC)  # 00:00 at UTC-4
    t = model.epoch(local_midnight) + np.array([-600.0, -300.0, 0.0, 300.0, 6 * 3600.0])
    water, feed = model.daily_totals(farm, house, t)
    assert water[0] > 100.0
    assert feed[0] > 50.0
    assert water[1] >= water[0]
    assert water[2] == pytest.approx(0.0)
    assert feed[2] == pytest.approx(0.0)
    assert water[4] > water[3] >= 0.0


def test_daily_total_grows_through_the_day_with_little_in_the_dark() -> None:
    farm = _farm()
    house = farm.houses[0]
    midnight = datetime(2026, 11, 24, tzinfo=UTC)
    t = model.epoch(midnight) + np.arange(0.0, model.DAY, 300.0)
    water, _ = model.daily_totals(farm, house, t)
    assert np.all(np.diff(water) >= 0)
    night = water[(4 * 12)]  # 04:00, lights off since 22:00
    assert night < 0.05 * water[-1]


def test_heater_failure_cools_only_its_house_after_its_start() -> None:
    farm = _farm(climate_mean=6.0, climate_season_amplitude=0.0)
    failure = _fault("heater_failure", "6h", house=2)
    t = _times(18)
    broken = model.evaluate(farm, farm.houses[1], t, [failure])
    healthy = model.evaluate(farm, farm.houses[2], t, [failure])
    before = t < model.epoch(failure.start)
    late = t > model.epoch(failure.start) + 4 * 3600
    deficit = broken["set_temperature"] - broken["temperature"]
    assert np.all(np.abs(deficit[before]) < 1.5)
    assert np.all(deficit[late] > 3.0)
    assert np.all(broken["heaters_running"][late] == farm.houses[1].heaters)
    assert np.all(np.abs(healthy["set_temperature"] - healthy["temperature"]) < 1.5)
    alarm = model.alarm_times(
        farm, farm.houses[1], failure.start, failure.start + timedelta(hours=12), [failure]
    )
    assert alarm is not None
    assert failure.start < alarm < failure.start + timedelta(hours=6)


def test_heater_wear_raises_run_time_before_the_failure() -> None:
    farm = _farm(climate_mean=6.0, climate_season_amplitude=0.0)
    house = farm.houses[1]
    worn = _fault("heater_failure", "4d", house=2, wear_days=3)
    t = _times(96, step_minutes=10)
    normal = model.evaluate(farm, house, t)["heat_fraction"]
    wearing = model.evaluate(farm, house, t, [worn])["heat_fraction"]
    last_day = t > model.epoch(worn.start) - model.DAY
    assert wearing[last_day].mean() > normal[last_day].mean() + 0.1
    assert worn.onset == worn.start - timedelta(days=3)


def test_wear_alone_fades_capacity_gradually() -> None:
    farm = _farm(climate_mean=6.0, climate_season_amplitude=0.0)
    house = farm.houses[1]
    wear = _fault("heater_wear", "0s", house=2, wear_days=4, wear_loss=0.5)
    t = _times(6 * 24, step_minutes=30)
    normal = model.evaluate(farm, house, t)["heat_fraction"]
    worn = model.evaluate(farm, house, t, [wear])["heat_fraction"]
    day = (t - t[0]) // model.DAY
    extra = [float((worn - normal)[day == d].mean()) for d in range(6)]
    assert extra[0] < extra[2] < extra[3]
    assert all(value >= 0.0 for value in extra)
    fans = _fault("fan_wear", "0s", house=2, wear_days=2, wear_loss=0.5)
    pressure = model.evaluate(farm, house, t, [fans])["static_pressure"]
    assert pressure[day == 5].mean() < pressure[day == 0].mean() - 3.0


def test_fan_failure_heats_a_warm_house_and_drops_the_pressure() -> None:
    """Older birds on a hot day: the ventilation is at its maximum, so lost fans show."""
    farm = _farm(climate_mean=28.0, climate_season_amplitude=0.0)
    failure = _fault("fan_failure", "492h", house=1, severity=0.7)  # day 20 + 12 h
    t = _times(24, start=START + timedelta(days=20))
    signals = model.evaluate(farm, farm.houses[0], t, [failure])
    normal = model.evaluate(farm, farm.houses[0], t)
    before = t < model.epoch(failure.start)
    after = t > model.epoch(failure.start) + 3 * 3600
    np.testing.assert_array_equal(signals["temperature"][before], normal["temperature"][before])
    assert np.all(signals["temperature"][after] > normal["temperature"][after] + 2.0)
    assert signals["static_pressure"][after].mean() < farm.houses[0].target_pressure - 5.0
    assert np.all(signals["humidity"][after] > normal["humidity"][after] + 5.0)


def test_fan_failure_in_mild_weather_shows_as_more_commanded_air() -> None:
    """While the controller has fans to spare it keeps the temperature by asking for more air."""
    farm = _farm(climate_mean=24.0, climate_season_amplitude=0.0)
    failure = _fault("fan_failure", "12h", house=2, severity=0.5)
    t = _times(24)
    signals = model.evaluate(farm, farm.houses[1], t, [failure])
    normal = model.evaluate(farm, farm.houses[1], t)
    after = t > model.epoch(failure.start) + 3 * 3600
    assert np.all(signals["air_flow"][after] >= normal["air_flow"][after])
    cooling = after & (normal["vent_level_percent"] > 25) & (normal["vent_level_percent"] < 50)
    assert cooling.any()
    assert np.all(signals["air_flow"][cooling] > 1.5 * normal["air_flow"][cooling])


def test_air_flow_is_the_air_of_the_current_ventilation_step() -> None:
    """As in the captures, Current_Level_CFM follows the whole-percent step (% CFM) and only it.

    Level 17 is 17 % and 115,532 m³/h in every house of the captured farm: the controller
    reports its step's air, not a continuously measured flow.
    """
    farm = _farm()
    for house in farm.houses:
        signals = model.evaluate(farm, house, _times(48))
        percent, air = signals["vent_level_percent"], signals["air_flow"]
        steps = percent > 0
        ratio = air[steps] / percent[steps]
        np.testing.assert_allclose(ratio, ratio[0], rtol=1e-12)
        np.testing.assert_array_equal(np.diff(air) != 0.0, np.diff(percent) != 0.0)
        assert (np.diff(percent) == 0.0).mean() > 0.5  # steps hold for several polls


def test_water_faults_change_water_at_their_time() -> None:
    farm = _farm()
    house = farm.houses[0]
    midnight = datetime(2026, 11, 24, tzinfo=UTC)
    t = model.epoch(midnight) + np.arange(0.0, model.DAY, 300.0)
    leak = resolve(
        FaultEvent.from_dict(
            {"kind": "water_leak", "farm": 1, "house": 1, "at": "2026-11-24T08:00:00Z"}
        ),
        START,
    )
    block = resolve(
        FaultEvent.from_dict(
            {"kind": "water_blockage", "farm": 1, "house": 1, "at": "2026-11-24T08:00:00Z"}
        ),
        START,
    )
    normal = model.evaluate(farm, house, t)["water_rate"]
    leaking = model.evaluate(farm, house, t, [leak])["water_rate"]
    blocked = model.evaluate(farm, house, t, [block])
    unblocked = model.evaluate(farm, house, t)
    hour = (t - t[0]) / 3600.0
    np.testing.assert_array_equal(leaking[hour < 8], normal[hour < 8])
    assert np.all(leaking[hour > 10] > normal[hour > 10])
    assert np.all(blocked["water_rate"][hour > 15] < 0.3 * normal[hour > 15] + 1e-9)
    # Feed follows a blocked water line, hours later.
    assert blocked["feed_rate"][(hour > 8) & (hour < 11)] == pytest.approx(
        unblocked["feed_rate"][(hour > 8) & (hour < 11)]
    )
    assert np.all(blocked["feed_rate"][hour > 17] < unblocked["feed_rate"][hour > 17])


def test_feed_stop_stops_feed_only_while_it_lasts() -> None:
    farm = _farm()
    house = farm.houses[0]
    stop = resolve(
        FaultEvent.from_dict(
            {
                "kind": "feed_stop",
                "farm": 1,
                "house": 1,
                "at": "2026-11-24T08:00:00Z",
                "duration": "4h",
            }
        ),
        START,
    )
    t = model.epoch(datetime(2026, 11, 24, tzinfo=UTC)) + np.arange(0.0, model.DAY, 300.0)
    signals = model.evaluate(farm, house, t, [stop])
    hour = (t - t[0]) / 3600.0
    assert np.all(signals["feed_rate"][(hour >= 8) & (hour < 12)] == 0.0)
    assert np.all(signals["feed_rate"][(hour >= 12.5) & (hour < 20)] > 0.0)


def test_probe_faults() -> None:
    farm = _farm()
    house = farm.houses[1]
    t = _times(30)
    stuck = _fault("probe_stuck", "6h", probe=2)
    drift = _fault("probe_drift", "6h", probe=3, rate_per_day=4.0)
    dropout = _fault("probe_dropout", "6h", probe=4)
    signals = model.evaluate(farm, house, t, [stuck, drift, dropout])
    normal = model.evaluate(farm, house, t)
    after = t >= model.epoch(stuck.start)
    assert np.ptp(signals["probe_temperature_2"][after]) == 0.0
    assert np.ptp(normal["probe_temperature_2"][after]) > 0.0
    gap = signals["probe_temperature_3"] - normal["probe_temperature_3"]
    assert gap[-1] == pytest.approx(4.0 * (t[-1] - model.epoch(drift.start)) / model.DAY)
    assert np.all(np.isnan(signals["probe_temperature_4"][after]))
    assert not np.isnan(signals["temperature"][after]).any(), "the average skips a dead probe"


def test_controller_offline_freezes_what_the_cloud_shows() -> None:
    farm = _farm()
    house = farm.houses[0]
    offline = resolve(
        FaultEvent.from_dict(
            {"kind": "controller_offline", "farm": 1, "house": 1, "at": "2h", "duration": "1h"}
        ),
        START,
    )
    t = _times(4)
    shown, connection = model.reported_times(farm, house, t, [offline])
    during = (t >= model.epoch(offline.start)) & (t < model.epoch(offline.start) + 3600)
    assert np.all(connection[during] == 2)
    assert np.all(connection[~during] == 1)
    assert np.all(shown[during] == model.epoch(offline.start))
    np.testing.assert_array_equal(shown[~during], t[~during])


def test_day_records_cover_the_flock_with_a_partial_last_day() -> None:
    farm = _farm()
    house = farm.houses[0]
    now = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)
    records = model.day_records(farm, house, now)
    today = model.evaluate(farm, house, np.array([model.epoch(now)]))["growth_day"][0]
    assert [r.growth_day for r in records] == list(range(-1, int(today) + 1))
    assert records[-1].partial
    assert not any(r.partial for r in records[:-1])
    assert records[0].water == 0.0, "no birds on the pre-heat day"
    assert records[-2].water > records[-1].water > 0.0
    assert all(0 <= minutes <= 1440 for r in records for minutes in r.heater_minutes)
