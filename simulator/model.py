"""The broiler-house model: every signal as a pure function of (seed, house, time).

Nothing is stepped. A reading at time t is computed directly from the flock calendar, the
set-point curve, the weather and the controller's quasi-static response; running daily totals
integrate a rate on a fixed 5-minute grid aligned to local midnight. So the live server can
answer any poll instantly, the benchmark API can vectorise months of 400 houses, and two runs
with the same seed agree to the last digit.

All values here are metric (°C, kg, L, m³/h, Pa); the wire layer converts for imperial farms.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

import numpy as np
import numpy.typing as npt

from . import noise
from .scenario import FarmOptions, Fault, Scenario

FloatArray = npt.NDArray[np.float64]

DAY = 86400.0
STEP = 300.0
"""Integration grid for running totals and daily history (seconds)."""
STEPS_PER_DAY = int(DAY / STEP)
LAST_GROWTH_DAY = 42
EMPTY_SET_POINT = 10.0
"""Frost protection while the house stands empty between flocks."""
ALARM_DEVIATION = 3.0
ALARM_SECONDS = 15 * 60.0
_INERTIA = 3600.0
"""Time constant (s) with which a house's air follows a change of heating or ventilation."""

# Set point by growth day (°C): ~33 °C for chicks, ~20.5 °C at day 42.
_SET_POINT_DAYS = np.array([-1, 0, 3, 7, 14, 21, 28, 35, 42], dtype=np.float64)
_SET_POINT_VALUES = np.array([33.0, 32.5, 31.5, 29.5, 27.0, 25.0, 23.0, 21.5, 20.5])
# Feed per bird per day (kg) and body weight (kg) by growth day.
_CURVE_DAYS = np.array([0, 7, 14, 21, 28, 35, 42], dtype=np.float64)
_FEED_PER_BIRD = np.array([0.012, 0.038, 0.080, 0.120, 0.158, 0.190, 0.205])
_BODY_WEIGHT = np.array([0.042, 0.19, 0.50, 1.00, 1.60, 2.30, 3.00])
_WATER_PER_FEED = 1.8


def floats(values: object) -> FloatArray:
    """``values`` as a float64 array (numpy's stubs lose the dtype in arithmetic)."""
    return np.asarray(values, dtype=np.float64)


def set_point_curve(age_days: FloatArray) -> FloatArray:
    """The controller's temperature curve, interpolated within the day."""
    return floats(np.interp(age_days, _SET_POINT_DAYS, _SET_POINT_VALUES))


def _light_profile() -> tuple[FloatArray, FloatArray]:
    """Drinking/eating rhythm over 24 h (mean 1): almost nothing in the dark (22:00-04:00),
    a peak after lights on and a smaller one in the afternoon."""
    hours = np.linspace(0.0, 24.0, 24 * 60 + 1)
    dark = (hours >= 22.0) | (hours < 4.0)
    shape = 1.0 + 0.8 * np.exp(-(((hours - 5.5) / 1.2) ** 2))
    shape = shape + 0.4 * np.exp(-(((hours - 16.0) / 2.0) ** 2))
    shape = np.where(dark, 0.05, shape)
    return floats(hours), floats(shape / float(np.mean(shape[:-1])))


_PROFILE_HOURS, _PROFILE = _light_profile()


@dataclass(frozen=True, slots=True)
class HouseModel:
    """Fixed parameters of one house (drawn once from the seed)."""

    farm: int
    number: int
    key: int
    anchor_day: int
    """Local day number (days since 1970-01-01 local) of growth day -1 of the first cycle."""
    cycle_days: int
    """Days from one placement to the next: 44 days with birds (-1..42) plus clean-out."""
    heaters: int
    tunnel_fans: int
    exhaust_fans: int
    probe_offsets: tuple[float, ...]
    max_air_flow: float
    heater_lift: float
    target_pressure: float
    initial_birds: int

    def __post_init__(self) -> None:
        if self.cycle_days <= LAST_GROWTH_DAY + 2:
            raise ValueError("a cycle must be longer than a flock")


@dataclass(frozen=True, slots=True)
class FarmModel:
    """One farm: its account, its gateway and its houses."""

    number: int
    seed: int
    options: FarmOptions
    gateway: str
    alias: str
    host_path: str
    houses: tuple[HouseModel, ...]

    @property
    def offset_seconds(self) -> float:
        """Local time minus UTC, in seconds."""
        return self.options.utc_offset_hours * 3600.0

    def house(self, number: int) -> HouseModel | None:
        """The house with this number, if the farm has it."""
        for house in self.houses:
            if house.number == number:
                return house
        return None


def build_farms(scenario: Scenario, start: datetime) -> list[FarmModel]:
    """Draw every farm and house of ``scenario`` from its seed. The flock calendar is laid so
    that at ``start`` most houses hold birds (each farm 10-30 days into a flock, houses a few
    days apart), which is what a demo or a benchmark wants to see."""
    start_day = int((start.timestamp()) // DAY)
    farms: list[FarmModel] = []
    for farm_number in range(1, scenario.farms + 1):
        options = scenario.options(farm_number)
        farm_key = noise.stable_key(scenario.seed, "farm", farm_number)
        farm_age = 10 + int(noise.scalar_uniform(farm_key, 1) * 21)
        houses = []
        for number in range(1, scenario.houses + 1):
            key = noise.stable_key(scenario.seed, "house", farm_number, number)
            offset = int(noise.scalar_uniform(key, 1) * 5)
            empty_days = 7 + int(noise.scalar_uniform(key, 2) * 15)
            raw_offsets = [
                (noise.scalar_uniform(key, 10 + probe) - 0.5) * 1.4
                for probe in range(options.probes)
            ]
            mean_offset = sum(raw_offsets) / len(raw_offsets) if raw_offsets else 0.0
            houses.append(
                HouseModel(
                    farm=farm_number,
                    number=number,
                    key=key,
                    anchor_day=start_day - farm_age - 1 + offset,
                    cycle_days=LAST_GROWTH_DAY + 2 + empty_days,
                    heaters=options.heaters,
                    tunnel_fans=options.tunnel_fans,
                    exhaust_fans=4,
                    probe_offsets=tuple(value - mean_offset for value in raw_offsets),
                    max_air_flow=600_000.0 + 160_000.0 * noise.scalar_uniform(key, 3),
                    heater_lift=32.0 + 8.0 * noise.scalar_uniform(key, 4),
                    target_pressure=float(24 + int(noise.scalar_uniform(key, 5) * 3)),
                    initial_birds=int(180 + noise.scalar_uniform(key, 6) * 140) * 100,
                )
            )
        code = f"SIM{scenario.seed % 1000:03d}{farm_number:04d}"
        farms.append(
            FarmModel(
                number=farm_number,
                seed=scenario.seed,
                options=options,
                gateway=code,
                alias=f"Simulated farm {farm_number}",
                host_path=f"/Host{farm_number}_V1/",
                houses=tuple(houses),
            )
        )
    return farms


def epoch(when: datetime) -> float:
    """Seconds since 1970 (UTC) of an aware datetime."""
    return when.timestamp()


def _ramp(t: FloatArray, start: float, tau: float) -> FloatArray:
    """0 before ``start``, then 1 - exp(-(t - start) / tau): how physical effects set in."""
    elapsed = np.maximum(t - start, 0.0)
    return np.where(t >= start, 1.0 - np.exp(-elapsed / tau), 0.0)


def _window(t: FloatArray, fault: Fault) -> npt.NDArray[np.bool_]:
    """True where the fault (not its wear phase) is in force."""
    end = epoch(fault.end) if fault.end else np.inf
    return (t >= epoch(fault.start)) & (t < end)


def _wear(t: FloatArray, fault: Fault) -> FloatArray:
    """0 → 1 across the wear phase before the failure, 0 after the fault ends."""
    onset, start = epoch(fault.onset), epoch(fault.start)
    end = epoch(fault.end) if fault.end else np.inf
    if start <= onset:
        return np.zeros_like(t)
    progress = np.clip((t - onset) / (start - onset), 0.0, 1.0)
    return np.where(t < end, progress, 0.0)


@dataclass(frozen=True, slots=True)
class Calendar:
    """Where a house stands in its flock cycle at each time (arrays shaped like ``t``, or
    (houses, times) when evaluated for several houses at once)."""

    local_day: npt.NDArray[np.int64]
    hour: FloatArray
    growth_day: FloatArray
    """Integer growth day (-1..42), NaN while the house is empty."""
    age: FloatArray
    """Growth day plus the fraction of the day: drives the set-point curve."""
    cycle: npt.NDArray[np.int64]


def calendar(farm: FarmModel, house: HouseModel, t: FloatArray) -> Calendar:
    """Growth day and time of day at ``t`` (house local time)."""
    return _calendar(farm, np.int64(house.anchor_day), np.int64(house.cycle_days), t)


def _calendar(
    farm: FarmModel,
    anchor_day: npt.NDArray[np.int64] | np.int64,
    cycle_days: npt.NDArray[np.int64] | np.int64,
    t: FloatArray,
) -> Calendar:
    local = t + farm.offset_seconds
    local_day = np.floor(local / DAY).astype(np.int64)
    hour = (local - local_day * DAY) / 3600.0
    position = local_day - anchor_day
    cycle = np.floor_divide(position, cycle_days)
    in_cycle = position - cycle * cycle_days
    occupied = in_cycle <= LAST_GROWTH_DAY + 1
    growth_day = np.where(occupied, in_cycle - 1, np.nan).astype(np.float64)
    return Calendar(local_day, hour, growth_day, growth_day + hour / 24.0, cycle)


def outside_temperature(farm: FarmModel, t: FloatArray) -> FloatArray:
    """Season + daily cycle (coolest near 04:00) + multi-day weather, shared by all houses."""
    options = farm.options
    local = t + farm.offset_seconds
    day_of_year = (local / DAY) % 365.2425
    hour = (local % DAY) / 3600.0
    season = options.climate_season_amplitude * np.cos(2 * np.pi * (day_of_year - 200.0) / 365.2425)
    daily = -options.climate_daily_amplitude * np.cos(2 * np.pi * (hour - 4.0) / 24.0)
    key = noise.stable_key(farm.seed, "weather", farm.number)
    weather = 3.0 * noise.smooth(key, t, 2.5 * DAY) + 1.0 * noise.smooth(key + 1, t, 6 * 3600.0)
    return floats(options.climate_mean + season + daily + weather)


@dataclass(frozen=True, slots=True)
class _Factors:
    heater_capacity: FloatArray
    vent_capacity: FloatArray
    water: FloatArray
    feed: FloatArray
    leak: FloatArray
    """Extra water as a fraction of the house's normal flow."""


def _factors(t: FloatArray, faults: Sequence[Fault]) -> _Factors:
    """Equipment capacities and flow multipliers implied by one house's faults at ``t``."""
    ones = np.ones_like(t)
    heater, vent, water, feed = ones.copy(), ones.copy(), ones.copy(), ones.copy()
    leak = np.zeros_like(t)
    for fault in faults:
        start = epoch(fault.start)
        active = _window(t, fault)
        if fault.kind == "heater_failure":
            loss = fault.param("severity", 1.0) * _ramp(t, start, _INERTIA) * active
            heater = heater * (1.0 - loss) * (1.0 - fault.param("wear_loss", 0.4) * _wear(t, fault))
        elif fault.kind == "fan_failure":
            loss = fault.param("severity", 0.6) * _ramp(t, start, _INERTIA) * active
            vent = vent * (1.0 - loss) * (1.0 - fault.param("wear_loss", 0.3) * _wear(t, fault))
        elif fault.kind in {"heater_wear", "fan_wear"}:
            # Wear alone: capacity fades over ``wear_days`` from the start and stays faded.
            span = max(fault.param("wear_days", 3.0), 1e-3) * DAY
            fade = fault.param("wear_loss", 0.4) * np.clip((t - start) / span, 0.0, 1.0) * active
            if fault.kind == "heater_wear":
                heater = heater * (1.0 - fade)
            else:
                vent = vent * (1.0 - fade)
        elif fault.kind == "water_leak":
            leak = leak + fault.param("extra", 0.5) * _ramp(t, start, 1800.0) * active
        elif fault.kind == "water_blockage":
            ramp_seconds = fault.param("ramp_hours", 6.0) * 3600.0
            severity = fault.param("severity", 0.8)
            progress = np.clip((t - start) / ramp_seconds, 0.0, 1.0) * active
            water = water * (1.0 - severity * progress)
            feed_progress = np.clip((t - start - 3 * 3600.0) / ramp_seconds, 0.0, 1.0) * active
            feed = feed * (1.0 - 0.7 * severity * feed_progress)
        elif fault.kind == "feed_stop":
            feed = np.where(active, 0.0, feed)
            dip = np.clip((t - start - 2 * 3600.0) / 7200.0, 0.0, 1.0) * active
            water = water * (1.0 - 0.25 * dip)
    return _Factors(heater, vent, water, feed, leak)


def _house_faults(farm: FarmModel, house: HouseModel, faults: Sequence[Fault]) -> list[Fault]:
    return [f for f in faults if f.house and f.applies_to(farm.number, house.number)]


def _stacked_factors(
    farm: FarmModel, houses: Sequence[HouseModel], t: FloatArray, faults: Sequence[Fault]
) -> _Factors:
    """Factors with a row per house; houses without faults cost nothing but a row of ones."""
    shape = (len(houses), t.size)
    rows = {
        name: np.zeros(shape) if name == "leak" else np.ones(shape)
        for name in ("heater_capacity", "vent_capacity", "water", "feed", "leak")
    }
    for row, house in enumerate(houses):
        mine = _house_faults(farm, house, faults)
        if not mine:
            continue
        factors = _factors(t, mine)
        for name, values in rows.items():
            values[row] = getattr(factors, name)
    return _Factors(**rows)


def _column(houses: Sequence[HouseModel], attribute: str) -> FloatArray:
    return floats([[getattr(house, attribute)] for house in houses])


def evaluate(
    farm: FarmModel,
    house: HouseModel,
    t: FloatArray,
    faults: Sequence[Fault] = (),
) -> dict[str, FloatArray]:
    """Instantaneous signals of one house at times ``t`` (epoch seconds), metric units.

    ``faults`` may hold any faults: only this house's count. The controller-offline fault is
    not applied here: the controller keeps working, only the cloud stops hearing from it; see
    :func:`reported_times`.
    """
    batch = evaluate_houses(farm, [house], t, faults)
    return {role: values[0] for role, values in batch.items()}


def evaluate_houses(
    farm: FarmModel,
    houses: Sequence[HouseModel],
    t: FloatArray,
    faults: Sequence[Fault] = (),
) -> dict[str, FloatArray]:
    """:func:`evaluate` for several houses of one farm at once: arrays shaped (houses, t).

    The houses share the time axis and the weather, so one pass over numpy serves them all
    (the benchmark API evaluates 400 houses x 30 days this way). The stages, in order: where
    each flock stands (:func:`_flock_state`), what the faults leave of the equipment
    (:func:`_stacked_factors`), the controller holding the set point (:func:`_climate`), the
    probes (:func:`_probes`), the equipment running (:func:`_equipment`), the air
    (:func:`_air`) and the birds eating and drinking (:func:`_consumption`).
    """
    flock = _flock_state(farm, houses, t)
    factors = _stacked_factors(farm, houses, t, faults)
    climate = _climate(flock, houses, t, factors)
    probes = _probes(farm, houses, t, climate.controlled, faults)
    average = _probe_average(probes, climate.controlled)
    running = _equipment(flock, houses, t, climate)
    air = _air(flock, houses, t, climate, factors)
    eating = _consumption(flock, houses, climate, factors)
    return _signals(
        farm,
        houses,
        flock=flock,
        climate=climate,
        running=running,
        air=air,
        eating=eating,
        probes=probes,
        average=average,
    )


@dataclass(frozen=True, slots=True)
class _FlockState:
    """Where each house's flock stands at each time, and what the controller aims for."""

    house_keys: noise.Key
    cal: Calendar
    shape: tuple[int, ...]
    occupied: npt.NDArray[np.bool_]
    has_birds: npt.NDArray[np.bool_]
    age: FloatArray
    set_point: FloatArray
    outside: FloatArray
    bird_heat: FloatArray
    """The birds' heat, in degrees over the incoming air at minimum ventilation."""
    min_vent: FloatArray


def _flock_state(farm: FarmModel, houses: Sequence[HouseModel], t: FloatArray) -> _FlockState:
    """Calendar, set point and outside air of every house; the birds' heat and minimum air."""
    house_keys = noise.keys([house.key for house in houses])
    cal = _calendar(
        farm,
        np.array([[house.anchor_day] for house in houses], dtype=np.int64),
        np.array([[house.cycle_days] for house in houses], dtype=np.int64),
        t[np.newaxis, :],
    )
    shape = cal.growth_day.shape
    occupied = ~np.isnan(cal.growth_day)
    has_birds = occupied & (cal.growth_day >= 0)
    age = np.where(occupied, cal.age, 0.0)
    set_point = np.where(occupied, set_point_curve(age), EMPTY_SET_POINT)
    outside = np.broadcast_to(outside_temperature(farm, t), shape)
    growth = np.clip(age / 35.0, 0.0, 1.0)
    bird_heat = np.where(has_birds, 1.0 + 9.0 * growth, 0.5)
    min_vent = np.where(has_birds, 0.04 + 0.16 * np.clip(age / 42.0, 0.0, 1.0), 0.02)
    return _FlockState(
        house_keys, cal, shape, occupied, has_birds, age, set_point, outside, bird_heat, min_vent
    )


@dataclass(frozen=True, slots=True)
class _Climate:
    """The controller's heating and ventilation, and the temperature it achieves."""

    need: FloatArray
    heat_fraction: FloatArray
    deficit: FloatArray
    pad: npt.NDArray[np.bool_]
    vent_command: FloatArray
    true_temperature: FloatArray
    controlled: FloatArray
    """The true temperature with the control loop's wobble: what the probes measure."""


def _climate(
    flock: _FlockState, houses: Sequence[HouseModel], t: FloatArray, factors: _Factors
) -> _Climate:
    """Heating and cooling towards the set point, with what the faults left of the equipment."""
    set_point, outside, bird_heat, min_vent = (
        flock.set_point,
        flock.outside,
        flock.bird_heat,
        flock.min_vent,
    )
    free = outside + bird_heat

    # Heating: the controller asks for what the nominal heaters would need; broken or worn
    # heaters deliver less, so it runs them longer (wear) or all the time (failure).
    need = np.maximum(set_point - free, 0.0)
    capacity = _column(houses, "heater_lift") * factors.heater_capacity
    heat_fraction = np.clip(need / np.maximum(capacity, 1e-3), 0.0, 1.0)
    deficit = np.maximum(need - capacity, 0.0)

    # Cooling: more air until the set point is held or the fans are at their maximum. On hot
    # days the air comes in through wet pads, several degrees cooler (and wetter) than outside.
    pad = flock.has_birds & (outside > set_point - 1.0) & (outside > 24.0)
    inlet = outside - np.where(pad, np.clip(0.5 * (outside - 18.0), 0.0, 9.0), 0.0)
    headroom = np.maximum(set_point - inlet, 1e-3)
    wanted = np.where(set_point > inlet, min_vent * bird_heat / headroom, np.inf)
    vent_command = np.clip(wanted / np.maximum(factors.vent_capacity, 1e-3), min_vent, 1.0)
    vent_command = np.where(need > 0.0, min_vent, vent_command)
    effective_vent = np.maximum(vent_command * factors.vent_capacity, 1e-3)
    hot = inlet + bird_heat * min_vent / effective_vent
    true_temperature = np.where(need > 0.0, set_point - deficit, np.maximum(hot, set_point))
    # Weak fans in cold weather: stale warm air, more humidity.
    true_temperature = true_temperature + 0.6 * bird_heat * (1.0 - factors.vent_capacity) * (
        need > 0.0
    )
    house_keys = flock.house_keys
    control_noise = 0.3 * noise.smooth(house_keys, t, 1200.0) + 0.1 * noise.smooth(
        noise.offset(house_keys, 7), t, 420.0
    )
    controlled = true_temperature + control_noise
    return _Climate(need, heat_fraction, deficit, pad, vent_command, true_temperature, controlled)


def _probe_average(probes: Sequence[FloatArray], controlled: FloatArray) -> FloatArray:
    """The controller's inside temperature: the mean of the probes that answer."""
    if probes:
        inside = np.stack(probes)
        count = (~np.isnan(inside)).sum(axis=0)
        total = np.nansum(inside, axis=0)
        return np.where(count > 0, total / np.maximum(count, 1), np.nan)
    return controlled


@dataclass(frozen=True, slots=True)
class _Equipment:
    """Heaters and fans running, and whether the house is in tunnel ventilation."""

    heaters_running: FloatArray
    tunnel: npt.NDArray[np.bool_]
    tunnel_fans: FloatArray
    exhaust_fans: FloatArray


def _equipment(
    flock: _FlockState, houses: Sequence[HouseModel], t: FloatArray, climate: _Climate
) -> _Equipment:
    """Whole heaters and fans for the controller's heat fraction and ventilation command."""
    heaters = _column(houses, "heaters")
    tunnel_fans_installed = _column(houses, "tunnel_fans")
    exhaust_installed = _column(houses, "exhaust_fans")
    vent_command = climate.vent_command
    minute = np.floor(t / 60.0).astype(np.int64)
    dither = noise.uniform(noise.offset(flock.house_keys, 11), minute)
    heaters_running = np.where(
        climate.deficit > 0.05, heaters, np.floor(climate.heat_fraction * heaters + dither)
    )
    heaters_running = np.clip(heaters_running, 0.0, heaters)
    tunnel = vent_command > 0.4
    tunnel_fans = np.where(tunnel, np.ceil(vent_command * tunnel_fans_installed), 0.0)
    exhaust_fans = np.where(
        tunnel, exhaust_installed, np.clip(np.ceil(vent_command / 0.1), 1.0, exhaust_installed)
    )
    return _Equipment(heaters_running, tunnel, tunnel_fans, exhaust_fans)


@dataclass(frozen=True, slots=True)
class _Air:
    humidity: FloatArray
    static_pressure: FloatArray
    target_pressure: FloatArray


def _air(
    flock: _FlockState,
    houses: Sequence[HouseModel],
    t: FloatArray,
    climate: _Climate,
    factors: _Factors,
) -> _Air:
    """Humidity and static pressure: more air dries and evens out, leaks and weak fans do not."""
    house_keys = flock.house_keys
    vent_command = climate.vent_command
    target_pressure = _column(houses, "target_pressure")
    humidity = (
        68.0
        - 14.0 * vent_command
        - 6.0 * (flock.age < 7)
        + 3.0 * noise.smooth(noise.offset(house_keys, 3), t, 5400.0)
        + 12.0 * factors.leak
        + 18.0 * (1.0 - factors.vent_capacity)
        + 10.0 * climate.pad
    )
    pressure_noise = 0.8 * noise.smooth(noise.offset(house_keys, 5), t, 600.0)
    static_pressure = target_pressure * (0.45 + 0.55 * factors.vent_capacity) + pressure_noise
    return _Air(humidity, static_pressure, target_pressure)


@dataclass(frozen=True, slots=True)
class _Consumption:
    """The birds alive and what they eat and drink (per second)."""

    initial: FloatArray
    birds: FloatArray
    feed_rate: FloatArray
    water_rate: FloatArray


def _consumption(
    flock: _FlockState, houses: Sequence[HouseModel], climate: _Climate, factors: _Factors
) -> _Consumption:
    """Birds alive, feed by the growth curve and the light rhythm, water with heat stress."""
    cal, has_birds, house_keys = flock.cal, flock.has_birds, flock.house_keys
    initial = _initial_birds(house_keys, _column(houses, "initial_birds"), cal)
    birds = np.where(has_birds, _alive(house_keys, initial, cal), 0.0)
    day_for_curve = np.where(has_birds, cal.growth_day, 0.0)
    feed_per_bird = np.interp(day_for_curve, _CURVE_DAYS, _FEED_PER_BIRD)
    rhythm = np.interp(cal.hour, _PROFILE_HOURS, _PROFILE)
    heat_stress = 1.0 + 0.05 * np.maximum(climate.true_temperature - flock.set_point, 0.0)
    feed_rate = birds * feed_per_bird / DAY * rhythm * factors.feed
    normal_water = birds * feed_per_bird * _WATER_PER_FEED / DAY
    water_rate = normal_water * rhythm * heat_stress * factors.water + normal_water * factors.leak
    return _Consumption(initial, birds, feed_rate, water_rate)


def _signals(
    farm: FarmModel,
    houses: Sequence[HouseModel],
    *,
    flock: _FlockState,
    climate: _Climate,
    running: _Equipment,
    air: _Air,
    eating: _Consumption,
    probes: Sequence[FloatArray],
    average: FloatArray,
) -> dict[str, FloatArray]:
    """The stages' results under the roles the wire and the series speak of.

    The stages' fields are unpacked into the names the table below has always used.
    """
    cal, occupied, has_birds = flock.cal, flock.occupied, flock.has_birds
    set_point, outside, min_vent = flock.set_point, flock.outside, flock.min_vent
    vent_command, true_temperature, controlled = (
        climate.vent_command,
        climate.true_temperature,
        climate.controlled,
    )
    heat_fraction, pad, tunnel = climate.heat_fraction, climate.pad, running.tunnel
    heaters_running, tunnel_fans, exhaust_fans = (
        running.heaters_running,
        running.tunnel_fans,
        running.exhaust_fans,
    )
    humidity, static_pressure, target_pressure = (
        air.humidity,
        air.static_pressure,
        air.target_pressure,
    )
    birds, initial = eating.birds, eating.initial
    water_rate, feed_rate = eating.water_rate, eating.feed_rate

    # The controller reports the air flow of its current ventilation step (Current_Level_CFM
    # follows Vent_Level_Percents in the captures), so both move together, in whole percent.
    level_percent = np.round(vent_command * 100.0)
    signals = {
        "temperature": average,
        "true_temperature": true_temperature,
        "set_temperature": set_point,
        "outside_temperature": outside,
        "tunnel_temperature": controlled + 0.1,
        "wind_chill_temperature": controlled - np.where(tunnel, 4.0 * vent_command, 0.0),
        "humidity": np.clip(humidity, 20.0, 98.0),
        "static_pressure": np.maximum(static_pressure, 0.0),
        "target_pressure": target_pressure,
        "vent_level_percent": level_percent,
        "vent_level": 1.0 + np.round(24.0 * vent_command),
        "min_vent_level": 1.0 + np.round(24.0 * min_vent),
        "air_flow": level_percent / 100.0 * _column(houses, "max_air_flow"),
        "vent_mode": np.where(tunnel, 2.0, 1.0),
        "heat_fraction": heat_fraction,
        "heaters_running": heaters_running,
        "tunnel_fans_running": tunnel_fans,
        "exhaust_fans_running": exhaust_fans,
        "cooling_pad": pad.astype(np.float64),
        "growth_day": cal.growth_day,
        "house_mode": np.where(occupied, 0.0, 4.0),
        "bird_count": birds if farm.options.bird_count == "reported" else np.zeros_like(birds),
        "livability": np.where(has_birds, 100.0 * birds / initial, np.nan),
        "average_weight": np.where(
            has_birds, np.interp(cal.age, _CURVE_DAYS, _BODY_WEIGHT), np.nan
        ),
        "water_rate": water_rate,
        "feed_rate": feed_rate,
        **{f"probe_temperature_{n}": values for n, values in enumerate(probes, start=1)},
    }
    return {role: np.broadcast_to(floats(values), flock.shape) for role, values in signals.items()}


def _probes(
    farm: FarmModel,
    houses: Sequence[HouseModel],
    t: FloatArray,
    controlled: FloatArray,
    faults: Sequence[Fault],
) -> list[FloatArray]:
    """Inside probes: the controlled air temperature plus a fixed offset and own noise, then
    the probe faults (stuck at the value it had, drifting away, or dropping out)."""
    count = min(len(house.probe_offsets) for house in houses)
    house_keys = noise.keys([house.key for house in houses])
    probes = []
    for index in range(1, count + 1):
        offsets = floats([[house.probe_offsets[index - 1]] for house in houses])
        probe_noise = 0.15 * noise.smooth(noise.offset(house_keys, 100 + index), t, 900.0)
        probes.append(controlled + offsets + probe_noise)
    for row, house in enumerate(houses):
        mine = _house_faults(farm, house, faults)
        for fault in mine:
            if not fault.kind.startswith("probe_"):
                continue
            index = int(fault.param("probe", 1))
            if not 1 <= index <= len(probes):
                continue
            active = _window(t, fault)
            start = epoch(fault.start)
            values = probes[index - 1]
            if fault.kind == "probe_stuck":
                others = [f for f in mine if f is not fault]
                frozen = evaluate(farm, house, np.array([start]), others)
                values[row] = np.where(active, frozen[f"probe_temperature_{index}"][0], values[row])
            elif fault.kind == "probe_drift":
                rate = fault.param("rate_per_day", 1.5)
                values[row] = values[row] + np.where(
                    active, rate * np.maximum(t - start, 0.0) / DAY, 0.0
                )
            elif fault.kind == "probe_dropout":
                values[row] = np.where(active, np.nan, values[row])
    return probes


def _initial_birds(house_keys: noise.Key, placed: FloatArray, cal: Calendar) -> FloatArray:
    """Birds placed in this cycle (varies a little from flock to flock)."""
    wobble = noise.uniform(noise.offset(house_keys, 21), cal.cycle)
    return floats(np.round(placed * (0.95 + 0.1 * wobble) / 100.0) * 100.0)


def _alive(house_keys: noise.Key, placed: FloatArray, cal: Calendar) -> FloatArray:
    days = np.maximum(np.nan_to_num(cal.growth_day, nan=0.0), 0.0)
    severity = 0.8 + 0.4 * noise.uniform(noise.offset(house_keys, 22), cal.cycle)
    lost = severity * (0.022 * (1.0 - np.exp(-days / 4.0)) + 0.0007 * days)
    return floats(np.floor(placed * (1.0 - lost)))


def bird_count(house: HouseModel, cal: Calendar) -> FloatArray:
    """Birds alive: placed minus cumulative mortality (heavier in the first week), counted
    once a day as the farmer enters it."""
    placed = _initial_birds(house.key, floats(house.initial_birds), cal)
    return _alive(house.key, placed, cal)


def offline_faults(farm: FarmModel, house: HouseModel, faults: Sequence[Fault]) -> list[Fault]:
    """The controller-offline faults of this house."""
    return [
        f
        for f in faults
        if f.kind == "controller_offline" and f.applies_to(farm.number, house.number) and f.house
    ]


def reported_times(
    farm: FarmModel, house: HouseModel, t: FloatArray, faults: Sequence[Fault]
) -> tuple[FloatArray, FloatArray]:
    """What the cloud reports at ``t``: while the controller is off line its last values stay
    frozen. Returns (time whose values the cloud shows, connection status 1 or 2)."""
    shown = t.copy()
    connection = np.ones_like(t)
    for fault in offline_faults(farm, house, faults):
        active = _window(t, fault)
        shown = np.where(active, np.minimum(shown, epoch(fault.start)), shown)
        connection = np.where(active, fault.param("status", 2.0), connection)
    return shown, connection


def integration_grid(farm: FarmModel, t: FloatArray) -> FloatArray:
    """Whole local days of 5-minute steps covering ``t`` (from the local midnight before)."""
    first, last = float(np.min(t)), float(np.max(t))
    offset = farm.offset_seconds
    midnight = np.floor((first + offset) / DAY) * DAY - offset
    steps = int(np.floor((last - midnight) / STEP)) + 1
    days = int(np.ceil(steps / STEPS_PER_DAY))
    return floats(midnight + STEP * np.arange(days * STEPS_PER_DAY, dtype=np.float64))


def daily_totals(
    farm: FarmModel,
    house: HouseModel,
    t: FloatArray,
    faults: Sequence[Fault] = (),
    grid_signals: dict[str, FloatArray] | None = None,
) -> tuple[FloatArray, FloatArray]:
    """Running water (L) and feed (kg) totals since local midnight at each ``t``.

    Rates are integrated on :func:`integration_grid` (left-point rule). A caller that has
    already evaluated that grid passes ``grid_signals`` to skip a second pass.
    """
    if t.size == 0:
        return np.zeros(0), np.zeros(0)
    grid = integration_grid(farm, t)
    rates = grid_signals if grid_signals is not None else evaluate(farm, house, grid, faults)
    index = np.clip(((t - grid[0]) // STEP).astype(np.int64), 0, grid.size - 1)
    results = []
    for rate in (rates["water_rate"], rates["feed_rate"]):
        increment = rate * STEP
        by_day = increment.reshape(-1, STEPS_PER_DAY)
        before = (np.cumsum(by_day, axis=1) - by_day).ravel()
        results.append(before[index] + increment[index] * (t - grid[index]) / STEP)
    return results[0], results[1]


@dataclass(frozen=True, slots=True)
class DayRecord:
    """One local day of a house, as the controller's history tables keep it."""

    local_day: int
    growth_day: int | None
    temperature_min: float
    temperature_avg: float
    temperature_max: float
    water: float
    feed: float
    heater_minutes: tuple[int, ...]
    partial: bool


def day_records(
    farm: FarmModel,
    house: HouseModel,
    until: datetime,
    faults: Sequence[Fault] = (),
) -> list[DayRecord]:
    """Daily history of the current flock from growth day -1 up to ``until`` (partial last
    day). Empty list while the house is empty between flocks."""
    now = epoch(until)
    cal = calendar(farm, house, np.array([now]))
    if np.isnan(cal.growth_day[0]):
        return []
    today = int(cal.local_day[0])
    first_day = today - int(cal.growth_day[0]) - 1
    offset = farm.offset_seconds
    grid = (first_day * DAY - offset) + STEP * np.arange(
        (today - first_day + 1) * STEPS_PER_DAY, dtype=np.float64
    )
    signals = evaluate(farm, house, grid, faults)
    seen = grid < now
    temperature = np.where(seen, signals["temperature"], np.nan).reshape(-1, STEPS_PER_DAY)
    water = np.where(seen, signals["water_rate"] * STEP, 0.0).reshape(-1, STEPS_PER_DAY)
    feed = np.where(seen, signals["feed_rate"] * STEP, 0.0).reshape(-1, STEPS_PER_DAY)
    fraction = np.where(seen, signals["heat_fraction"], 0.0) * house.heaters
    minutes = [
        (np.clip(fraction - device, 0.0, 1.0) * STEP / 60.0).reshape(-1, STEPS_PER_DAY).sum(axis=1)
        for device in range(house.heaters)
    ]
    records = []
    for row in range(today - first_day + 1):
        temps = temperature[row]
        with np.errstate(all="ignore"):
            low, mean, high = np.nanmin(temps), np.nanmean(temps), np.nanmax(temps)
        records.append(
            DayRecord(
                local_day=first_day + row,
                growth_day=row - 1,
                temperature_min=float(low),
                temperature_avg=float(mean),
                temperature_max=float(high),
                water=float(water[row].sum()),
                feed=float(feed[row].sum()),
                heater_minutes=tuple(round(float(m[row])) for m in minutes),
                partial=row == today - first_day,
            )
        )
    return records


def alarm_times(
    farm: FarmModel,
    house: HouseModel,
    start: datetime,
    end: datetime,
    faults: Sequence[Fault] = (),
) -> datetime | None:
    """First time in [start, end] the controller's fixed alarm fires: the average temperature
    more than 3 °C from the set point for 15 minutes (checked on a 1-minute grid)."""
    first = epoch(start) - ALARM_SECONDS
    times = floats(np.arange(first, epoch(end) + 60.0, 60.0))
    if times.size == 0:
        return None
    signals = evaluate(farm, house, times, faults)
    outside = np.abs(signals["temperature"] - signals["set_temperature"]) > ALARM_DEVIATION
    window = int(ALARM_SECONDS // 60) + 1
    if outside.size < window:
        return None
    sustained = np.convolve(outside.astype(np.int64), np.ones(window, dtype=np.int64), "valid")
    hits = np.nonzero(sustained == window)[0]
    hits = hits[times[hits + window - 1] >= epoch(start)]
    if hits.size == 0:
        return None
    fired = float(times[hits[0] + window - 1])
    return start + timedelta(seconds=fired - epoch(start))
