"""`ml_analyzer replay`: bad input is one line and exit 2; a simulated heater failure is found."""

from __future__ import annotations

import csv
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from ml_analyzer.cli import main

from simulator.scenario import Scenario
from simulator.series import iter_house_frames

START = datetime(2026, 1, 5, tzinfo=UTC)


def _write(root: Path, name: str, text: str) -> Path:
    path = root / "farm" / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


GOOD = "timestamp,temperature\n2026-01-05T00:00:00+01:00,20.5\n"


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("", "empty file"),
        ("timestamp,temperature\n", "empty file"),
        ("time,temperature\n2026-01-05T00:00:00+00:00,20\n", "no 'timestamp' column"),
        ("timestamp,temperature\nyesterday,20\n", "line 2: timestamp 'yesterday'"),
        ("timestamp,temperature\n2026-01-05T00:00:00,20\n", "UTC offset"),
        ("timestamp,wind\n2026-01-05T00:00:00+00:00,20\n", "unknown column 'wind'"),
        ("timestamp,temperature\n2026-01-05T00:00:00+00:00,warm\n", "'warm' in temperature"),
    ],
)
def test_bad_csv_is_one_line_naming_the_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], text: str, problem: str
) -> None:
    path = _write(tmp_path / "in", "1.csv", text)
    assert main(["replay", "--csv", str(tmp_path / "in"), "--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert str(path) in err
    assert problem in err
    assert "Traceback" not in err


def test_bad_timezones_and_options_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = tmp_path / "in"
    _write(root, "1.csv", GOOD)
    out = ["--out", str(tmp_path / "out")]
    assert main(["replay", "--csv", str(root), "--timezone", "Mars/Base", *out]) == 2
    assert "unknown time zone 'Mars/Base'" in capsys.readouterr().err
    (root / "farm" / "farm.json").write_text('{"timezone": "Nowhere/City"}')
    assert main(["replay", "--csv", str(root), *out]) == 2
    assert "farm.json: unknown time zone 'Nowhere/City'" in capsys.readouterr().err
    config = tmp_path / "analyzer.yaml"
    config.write_text("sensitivity: medium\n")
    args = ["replay", "--config", str(config), "--end", "2026-01-02T00:00+00:00", *out]
    assert main([*args, "--start", "last month"]) == 2
    assert "--start: 'last month' is not an ISO 8601 time" in capsys.readouterr().err


def test_a_simulated_heater_failure_is_replayed_in_its_house(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    scenario = Scenario.from_dict(
        {
            "name": "replay",
            "farms": 1,
            "houses": 3,
            "seed": 7,
            "start": START.isoformat(),
            "events": [{"kind": "heater_failure", "farm": 1, "house": 2, "at": "60h"}],
        }
    )
    root = tmp_path / "in"
    for _, house, frame in iter_house_frames(scenario, START, START + timedelta(hours=78)):
        folder = root / "farm1"
        folder.mkdir(parents=True, exist_ok=True)
        frame.to_csv(
            folder / f"house{house}.csv",
            index_label="timestamp",
            date_format="%Y-%m-%dT%H:%M:%S+00:00",
        )
    (root / "farm1" / "notes.txt").write_text("ignored")
    out = tmp_path / "out"
    assert main(["replay", "--csv", str(root), "--out", str(out), "--timezone", "Asia/Tokyo"]) == 0
    printed = capsys.readouterr().out
    with (out / "summary.csv").open() as handle:
        summary = list(csv.DictReader(handle))
    heating = [e for e in summary if e["subsystem"] == "heating"]
    assert [e["house"] for e in heating] == ["house2"]
    assert "farm1/house2" in printed
    assert datetime.fromisoformat(heating[0]["start"]) >= START + timedelta(hours=60)
    with (out / "farm1" / "house2.csv").open() as handle:
        rows = list(csv.DictReader(handle))
    assert rows[0]["anomaly"] == ""  # unknown before the first verdict, never "false"
    assert rows[-1]["timestamp"].endswith("+09:00")
    assert {row["anomaly"] for row in rows} == {"", "true", "false"}
