"""Files outside the integration code that HACS, the brands check and the add-on store need."""

from __future__ import annotations

import struct
from pathlib import Path
from typing import Any

import pytest
import yaml

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
# First lines of the OSI-approved licenses a project like this would use.
OSI_LICENSE_HEADINGS = {
    "MIT License": "MIT",
    "Apache License": "Apache-2.0",
    "GNU GENERAL PUBLIC LICENSE": "GPL",
    "GNU LESSER GENERAL PUBLIC LICENSE": "LGPL",
    "Mozilla Public License Version 2.0": "MPL-2.0",
    "BSD 3-Clause License": "BSD-3-Clause",
    "BSD 2-Clause License": "BSD-2-Clause",
    "ISC License": "ISC",
}


def png_size(path: Path) -> tuple[int, int]:
    """Width and height from a PNG's IHDR chunk; raises ValueError for anything but a PNG."""
    header = path.read_bytes()[:24]
    if header[:8] != PNG_SIGNATURE or header[12:16] != b"IHDR":
        raise ValueError(f"{path.name} is not a PNG file")
    width, height = struct.unpack(">II", header[16:24])
    return width, height


@pytest.mark.parametrize(
    ("name", "size"),
    [("icon.png", (256, 256)), ("icon@2x.png", (512, 512))],
)
def test_brand_icon_is_a_square_png_of_the_brands_size(
    integration: Path, name: str, size: tuple[int, int]
) -> None:
    """HA (2026.3+) shows custom integrations' icons from brand/; the brands rules give the size."""
    path = integration / "brand" / name
    if name != "icon.png" and not path.exists():
        pytest.skip("the @2x icon is optional")
    assert png_size(path) == size


def test_brand_logo_if_present_has_the_brands_size(integration: Path) -> None:
    """A logo's shortest side is 128 to 256 px (brands rule); the logo is optional."""
    path = integration / "brand" / "logo.png"
    if not path.exists():
        pytest.skip("no logo: the icon is used")
    assert 128 <= min(png_size(path)) <= 256


def test_png_size_rejects_a_non_png(tmp_path: Path) -> None:
    """The size check can fail: a renamed JPEG or text file is not taken for an icon."""
    fake = tmp_path / "icon.png"
    fake.write_bytes(b"GIF89a" + bytes(30))
    with pytest.raises(ValueError, match="not a PNG"):
        png_size(fake)


def test_license_is_osi_approved_and_matches_pyproject(
    repo: Path, pyproject: dict[str, Any]
) -> None:
    """HACS requires a license; the one in LICENSE is the one pyproject declares."""
    first_line = (repo / "LICENSE").read_text(encoding="utf-8").strip().splitlines()[0].strip()
    spdx = next(
        (spdx for heading, spdx in OSI_LICENSE_HEADINGS.items() if first_line.startswith(heading)),
        None,
    )
    assert spdx is not None, f"LICENSE starts with {first_line!r}: not a known OSI license"
    declared = pyproject["project"]["license"]
    declared = declared if isinstance(declared, str) else declared.get("text", "")
    assert declared.startswith(spdx), f"pyproject says {declared}, LICENSE is {spdx}"


@pytest.fixture
def repository_yaml(repo: Path) -> dict[str, Any]:
    """repository.yaml: what the add-on store reads when the repository is added."""
    data: dict[str, Any] = yaml.safe_load((repo / "repository.yaml").read_text("utf-8"))
    return data


def test_addon_repository_yaml_has_name_url_and_maintainer(
    repository_yaml: dict[str, Any],
) -> None:
    """The Supervisor requires `name`; `url` and `maintainer` are shown in the store."""
    assert set(repository_yaml) <= {"name", "url", "maintainer"}
    assert repository_yaml.get("name")
    assert str(repository_yaml.get("url", "")).startswith("https://")
    assert repository_yaml.get("maintainer")


def test_addon_repository_holds_an_addon(repo: Path) -> None:
    """The store lists each folder with a config.yaml; a repository without one is empty."""
    configs = [
        path
        for path in repo.glob("*/config.yaml")
        if {"name", "version", "slug", "arch"} <= set(yaml.safe_load(path.read_text("utf-8")))
    ]
    assert configs, "no add-on folder (…/config.yaml with name, version, slug, arch)"
