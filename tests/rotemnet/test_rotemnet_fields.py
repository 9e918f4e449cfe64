"""The field table agrees with the models: a new cloud field is one table line and one model line.

These tests catch the two ways that promise breaks: a model field nobody fills (a model line
without a table line, or a table line naming a field the model lacks) and a kind whose values do
not have the type the model declares.
"""

from __future__ import annotations

import functools
import types
import typing
from dataclasses import fields
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from custom_components.rotem_farm.rotemnet import House, HouseDetails, Readings, Units
from custom_components.rotem_farm.rotemnet.fields import (
    FIELDS,
    Answer,
    read_fields,
    readers,
)
from custom_components.rotem_farm.rotemnet.parsing import parse_house_details, parse_site
from simulator import wire
from simulator.scenario import load
from simulator.server import Simulation
from tests.rotemnet.fakecloud import capture_response

MODELS: dict[Answer, type[House] | type[HouseDetails]] = {
    Answer.SITE: House,
    Answer.PAGE: HouseDetails,
}
FILLED_BY_CODE: dict[Answer, set[str]] = {
    Answer.SITE: {
        "number",
        "name",
        "field_name",
        "controller_type",
        "controller_name",
        "probe_temperatures",
        "raw",
    },
    Answer.PAGE: {
        "house_number",
        "probe_temperatures",
        "probe_locations",
        "equipment",
        "analog_outputs",
        "silos",
        "temperature_24h",
        "target_temperature_24h",
        "weight_10d",
        "target_weight_10d",
        "mortality",
        "raw",
    },
}
"""The special cases that stay as code (identity, probes, output groups, series, mortality)."""

SCENARIOS = Path(__file__).parents[2] / "simulator" / "scenarios"
START = datetime(2026, 11, 23, 6, 0, tzinfo=UTC)


def table_fields(answer: Answer) -> list[str]:
    """The model fields the table fills from ``answer``."""
    return [field.model for field in FIELDS if field.key(answer) is not None]


@pytest.mark.parametrize("answer", list(Answer))
def test_every_model_field_is_filled_once(answer: Answer) -> None:
    """Each field of the model is a table line or a known special case, never both or neither."""
    model_fields = {field.name for field in fields(MODELS[answer])}
    from_table = table_fields(answer)
    assert len(from_table) == len(set(from_table)), "a model field has two table lines"
    assert set(from_table) <= model_fields, "a table line names a field the model lacks"
    assert not set(from_table) & FILLED_BY_CODE[answer]
    assert set(from_table) | FILLED_BY_CODE[answer] == model_fields


@pytest.mark.parametrize("answer", list(Answer))
def test_no_wire_key_fills_two_fields(answer: Answer) -> None:
    """One key of an answer feeds one field: a copy-paste slip would show two equal readings."""
    keys: list[str] = []
    for field in FIELDS:
        key = field.key(answer)
        keys.extend([key] if isinstance(key, str) else key or [])
    assert len(keys) == len(set(keys))


def test_every_shared_reading_comes_from_both_answers() -> None:
    """A Readings field exists on both models, so both answers must say where it is."""
    by_model = {field.model: field for field in FIELDS}
    for reading in fields(Readings):
        if reading.name == "probe_temperatures":
            continue
        line = by_model[reading.name]
        assert line.site is not None, reading.name
        assert line.page is not None, reading.name


HINTS = {model: typing.get_type_hints(model) for model in (House, HouseDetails)}
"""Resolved annotations of both models (resolving them per value would dominate the test)."""


def _allowed_types(model: type[House] | type[HouseDetails], name: str) -> tuple[type, ...]:
    """The classes a field's annotation allows (``float | None`` -> float, NoneType)."""
    annotation = HINTS[model][name]
    if isinstance(annotation, types.UnionType):
        return tuple(typing.get_args(annotation))
    return (annotation,)


@functools.cache
def _answers() -> list[tuple[Answer, object]]:
    """The real captures and simulator answers of every scenario (faults, imperial units)."""
    answers: list[tuple[Answer, object]] = [
        (Answer.SITE, capture_response("GetSiteControllersInfo.json")),
        (Answer.PAGE, capture_response("RNBL_GetCommandData-cmd0-general.json")),
    ]
    for path in sorted(SCENARIOS.glob("*.yaml")):
        scenario = load(path)
        simulation = Simulation(scenario, start=START)
        farm = simulation.farms[0]
        when = simulation.origin + timedelta(days=3, hours=5)
        faults = scenario.faults(simulation.origin)
        answers.append((Answer.SITE, wire.site_controllers_info(farm, when, faults, None)))
        answers.append(
            (Answer.PAGE, wire.command_general(farm, farm.houses[0], when, faults, None))
        )
    return answers


@pytest.mark.parametrize("units", [None, Units(pressure_factor=9.80665, wind_speed_factor=0.5)])
def test_every_kind_gives_the_type_the_model_declares(units: Units | None) -> None:
    """Each table-filled value of each parsed house has its field's annotated type."""
    seen: dict[Answer, set[str]] = {Answer.SITE: set(), Answer.PAGE: set()}
    for answer, data in _answers():
        if answer is Answer.SITE:
            models: list[House | HouseDetails] = list(parse_site(data, units=units).houses.values())
        else:
            models = [parse_house_details(data, units=units)]
        for model in models:
            for name in table_fields(answer):
                value = getattr(model, name)
                assert isinstance(value, _allowed_types(type(model), name)), (name, value)
                if value is not None:
                    seen[answer].add(name)
    # The check means something only if most fields held a value at least once (the captures
    # and the simulator report no CO2, ammonia, attic temperature, FCR or outside humidity).
    for answer, filled in seen.items():
        assert len(filled) >= 0.75 * len(table_fields(answer))


def test_alternative_keys_take_the_first_the_answer_carries() -> None:
    """Livability is spelled two ways; the first key present wins, even with a bad value."""
    site = readers(Answer.SITE, None)
    assert read_fields({"Livability_Percents": "97.5"}, site)["livability"] == 97.5
    both = {"Livablity_Percents": "98", "Livability_Percents": "97.5"}
    assert read_fields(both, site)["livability"] == 98
    unreadable_first = {"Livablity_Percents": "- - -", "Livability_Percents": "97.5"}
    assert read_fields(unreadable_first, site)["livability"] is None


def test_scaled_kinds_follow_the_units() -> None:
    """Pressure and wind scale by the units' factors; other kinds never do."""
    units = Units(pressure_factor=9.80665, wind_speed_factor=0.5)
    values = {"Static_Pressure": "2", "Wind_Speed": "10", "Outside_Temperature": "10"}
    read = read_fields(values, readers(Answer.PAGE, units))
    assert read["static_pressure"] == pytest.approx(19.613)
    assert read["wind_speed"] == 5
    assert read["outside_temperature"] == 10
    unscaled = read_fields(values, readers(Answer.PAGE, None))
    assert unscaled["static_pressure"] == 2
