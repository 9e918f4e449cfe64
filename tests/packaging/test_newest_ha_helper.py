"""scripts/newest_ha's host-side helper: mirror from apt sources, test group, pip config."""

from __future__ import annotations

import configparser
from pathlib import Path

import pytest

from devtools.newest_ha import (
    find_mirror,
    group_requirements,
    junit_summary,
    mirrors_from_deb822,
    mirrors_from_one_line,
    pip_conf_for_root,
)

DEB822 = """\
Types: deb deb-src
# http://snapshot.debian.org/archive/debian/20250520T000000Z
URIs: http://mirror.example/debian
Suites: bookworm bookworm-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb
URIs: http://mirror.example/debian-security
Suites: bookworm-security
Components: main
"""


def test_one_line_format_skips_options_comments_sources_and_security() -> None:
    """`deb [opts] URI suite` gives URI; deb-src, comments and security are not the archive."""
    text = (
        "# deb http://commented.example/debian sid main\n"
        "deb-src http://src.example/debian bookworm main\n"
        "deb http://security.debian.org/debian-security bookworm-security main\n"
        "deb [arch=amd64 signed-by=/usr/share/keyrings/k.gpg] http://one.example/debian"
        " bookworm main\n"
    )
    assert mirrors_from_one_line(text) == ["http://one.example/debian"]


def test_deb822_format_reads_uris_of_deb_stanzas() -> None:
    """deb822 stanzas: Types must include deb; the security archive is skipped."""
    assert mirrors_from_deb822(DEB822) == ["http://mirror.example/debian"]


def test_deb822_disabled_stanza_is_ignored() -> None:
    """`Enabled: no` turns a stanza off, as apt does."""
    assert mirrors_from_deb822("Enabled: no\n" + DEB822.split("\n\n", maxsplit=1)[0]) == []


def test_find_mirror_prefers_sources_list_then_parts_by_name(tmp_path: Path) -> None:
    """sources.list first; then sources.list.d/*.list and *.sources; other suffixes ignored."""
    parts = tmp_path / "sources.list.d"
    parts.mkdir()
    (parts / "a.sources.disabled-by-admin").write_text(DEB822.replace("mirror", "off"))
    (parts / "b.sources").write_text(DEB822)
    assert find_mirror(tmp_path) == "http://mirror.example/debian"
    (tmp_path / "sources.list").write_text("deb http://first.example/debian bookworm main\n")
    assert find_mirror(tmp_path) == "http://first.example/debian"


def test_find_mirror_without_debian_archive_is_none(tmp_path: Path) -> None:
    """No archive is an error for the script, never a guessed mirror."""
    (tmp_path / "sources.list").write_text("deb https://packages.example/apt stable main\n")
    assert find_mirror(tmp_path) is None


def test_group_requirements_expands_included_groups() -> None:
    """PEP 735 include-group is expanded in order, without duplicates."""
    pyproject = {
        "dependency-groups": {
            "client": ["aiohttp>=3.9"],
            "simulator": ["aiohttp>=3.9", "pyyaml>=6"],
            "test": [{"include-group": "client"}, {"include-group": "simulator"}, "ruff"],
        }
    }
    assert group_requirements(pyproject) == ["aiohttp>=3.9", "pyyaml>=6", "ruff"]


def test_group_requirements_rejects_a_cycle() -> None:
    """A cycle is a broken pyproject, reported instead of recursing forever."""
    pyproject = {
        "dependency-groups": {"a": [{"include-group": "b"}], "b": [{"include-group": "a"}]}
    }
    with pytest.raises(ValueError, match="cycle"):
        group_requirements(pyproject, "a")


def test_pip_conf_keeps_ca_and_constraints_and_drops_missing_local_indexes(tmp_path: Path) -> None:
    """The CA and constraint files are copied; a wheel folder absent in the root is dropped."""
    ca = tmp_path / "ca.crt"
    ca.write_text("CERT")
    root = tmp_path / "root"
    (root / "srv" / "wheels").mkdir(parents=True)
    text = (
        "[global]\n"
        f"cert = {ca}\n"
        "find-links = /opt/wheels /srv/wheels\n"
        "index-url = https://pypi.org/simple\n"
        "extra-index-url = file:///opt/local-index\n"
    )
    new_text, files = pip_conf_for_root(text, root)
    parser = configparser.ConfigParser()
    parser.read_string(new_text)
    assert parser.get("global", "cert") == str(ca)
    assert parser.get("global", "find-links") == "/srv/wheels"
    assert parser.get("global", "index-url") == "https://pypi.org/simple"
    assert not parser.has_option("global", "extra-index-url")
    assert files == [ca]


def test_junit_summary_counts_outcomes_per_file_and_lists_failures() -> None:
    """The table docs/newest_ha.md records: per file, with failing ids spelled out."""
    xml = """<testsuites><testsuite>
      <testcase classname="tests.integration.test_init" name="test_setup"/>
      <testcase classname="tests.integration.test_init" name="test_reload">
        <failure message="boom"/></testcase>
      <testcase classname="tests.packaging.test_manifest" name="test_doc">
        <skipped type="pytest.xfail" message="not written yet"/></testcase>
      <testcase classname="tests.packaging.test_manifest" name="test_teardown">
        <error message="lingering timer"/></testcase>
    </testsuite></testsuites>"""
    summary = junit_summary(xml)
    assert "| tests/integration/test_init.py | 1 | 1 | 0 | 0 | 0 |" in summary
    assert "| tests/packaging/test_manifest.py | 0 | 0 | 1 | 0 | 1 |" in summary
    assert "| **total** | 1 | 1 | 1 | 0 | 1 |" in summary
    assert "- `tests/integration/test_init.py::test_reload (failed)`" in summary
    assert "- `tests/packaging/test_manifest.py::test_teardown (error)`" in summary
