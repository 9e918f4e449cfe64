"""The house mode is an enum state in HA; every reader turns it into the occupancy flag.

HA's influxdb integration writes a text state to the string field `state` (no `value`), the
recorder keeps the state itself. A mode the flag table does not know is a gap, never 0.
"""

from __future__ import annotations

from datetime import UTC, datetime

from ml_analyzer.discovery import is_input_role
from ml_analyzer.readers import HOUSE_MODE_OCCUPIED, influx_field, text_states
from ml_analyzer.readers.ha_history import parse_history
from ml_analyzer.readers.influxdb_v1 import build_query, parse_series
from ml_analyzer.readers.influxdb_v2 import build_flux, parse_annotated_csv

START = datetime(2026, 1, 5, tzinfo=UTC)
END = datetime(2026, 1, 6, tzinfo=UTC)
T0 = START.timestamp()


def test_house_mode_is_an_input_role_read_from_the_state_field() -> None:
    assert is_input_role("house_mode")
    assert influx_field("house_mode") == "state"
    assert influx_field("temperature") == "value"
    assert text_states("temperature") is None
    assert 'SELECT "state"' in build_query("sensor.x", ["x"], START, END, field="state")
    assert 'r._field == "state"' in build_flux("b", "m", ["x"], START, END, field="state")


def test_the_recorder_states_become_the_flag() -> None:
    answer = {
        "sensor.house_1_house_mode": [
            {"s": "full_house", "lc": T0 + 60},
            {"s": "catching", "lc": T0 + 120},
            {"s": "empty_house", "lc": T0 + 180},
            {"s": "unknown", "lc": T0 + 240},
            {"s": "unavailable", "lc": T0 + 300},
        ]
    }
    roles = {"sensor.house_1_house_mode": "house_mode"}
    series = parse_history(answer, START, END, roles)["sensor.house_1_house_mode"]
    assert series.tolist() == [1.0, 1.0, 0.0]
    # Without the role the same states are not numbers: nothing is made up.
    assert parse_history(answer, START, END) == {}


def test_influxdb_v1_state_rows_become_the_flag() -> None:
    series = {
        "tags": {"entity_id": "house_1_house_mode", "domain": "sensor"},
        "values": [
            [T0 * 1000 + 1, "first_brood"],
            [T0 * 1000 + 2, "empty_room"],
            [T0 * 1000 + 3, "a_mode_added_later"],
        ],
    }
    object_id, domain, rows = parse_series(series, HOUSE_MODE_OCCUPIED)
    assert (object_id, domain) == ("house_1_house_mode", "sensor")
    assert rows[:2, 1].tolist() == [1.0, 0.0]
    assert rows[2, 1] != rows[2, 1]  # NaN: a gap


def test_influxdb_v2_state_rows_become_the_flag() -> None:
    text = (
        "#datatype,string,long,dateTime:RFC3339,string,string,string\n"
        ",result,table,_time,_value,entity_id,domain\n"
        ",,0,2026-01-05T00:01:00Z,full_house,house_1_house_mode,sensor\n"
        ",,0,2026-01-05T00:02:00Z,empty_house,house_1_house_mode,sensor\n"
        ",,0,2026-01-05T00:03:00Z,unknown,house_1_house_mode,sensor\n"
    )
    points = parse_annotated_csv(text, HOUSE_MODE_OCCUPIED)
    times, values = points["house_1_house_mode", "sensor"]
    assert values == [1.0, 0.0]
    assert len(times) == 2
    assert parse_annotated_csv(text) == {}
