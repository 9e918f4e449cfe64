"""manifest.json and hacs.json as hassfest and HACS validate them for a custom integration."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from awesomeversion import AwesomeVersion, AwesomeVersionStrategy

REPO = Path(__file__).parents[2]
DOMAIN = "rotem_farm"
MANIFEST = REPO / "custom_components" / DOMAIN / "manifest.json"

# hassfest's manifest schema for custom integrations (script/hassfest/manifest.py): these keys
# are required, and no others are known.
REQUIRED_KEYS = {
    "domain",
    "name",
    "codeowners",
    "documentation",
    "integration_type",
    "iot_class",
    "issue_tracker",
    "version",
}
KNOWN_KEYS = REQUIRED_KEYS | {
    "after_dependencies",
    "bluetooth",
    "config_flow",
    "dependencies",
    "dhcp",
    "homekit",
    "import_executor",
    "loggers",
    "mqtt",
    "requirements",
    "single_config_entry",
    "ssdp",
    "usb",
    "zeroconf",
}
INTEGRATION_TYPES = {"device", "entity", "hardware", "helper", "hub", "service", "system"}
IOT_CLASSES = {
    "assumed_state",
    "calculated",
    "cloud_polling",
    "cloud_push",
    "local_polling",
    "local_push",
}
# HACS's hacs.json schema (hacs/utils/validate.py).
HACS_KEYS = {
    "name",
    "homeassistant",
    "render_readme",
    "content_in_root",
    "filename",
    "hide_default_branch",
    "country",
    "zip_release",
    "hacs",
    "persistent_directory",
}
MINIMUM_HA = AwesomeVersion("2025.4.0")


def test_manifest_key_order_is_domain_name_then_sorted(manifest: dict[str, Any]) -> None:
    """hassfest --action validate rejects any other order."""
    keys = list(manifest)
    assert keys[:2] == ["domain", "name"]
    assert keys[2:] == sorted(keys[2:])


def test_manifest_has_required_and_only_known_keys(manifest: dict[str, Any]) -> None:
    """A custom integration needs version, documentation and issue tracker besides the core keys."""
    assert set(manifest) >= REQUIRED_KEYS, f"missing: {REQUIRED_KEYS - set(manifest)}"
    assert set(manifest) <= KNOWN_KEYS, f"unknown: {set(manifest) - KNOWN_KEYS}"


def test_manifest_domain_is_the_folder_name(manifest: dict[str, Any], integration: Path) -> None:
    """HA loads custom_components/<domain>; a mismatch makes the integration unloadable."""
    assert manifest["domain"] == integration.name == DOMAIN


def test_manifest_values_are_valid(manifest: dict[str, Any], integration: Path) -> None:
    """Enumerations, code owners and URLs have the shapes hassfest accepts."""
    assert manifest["integration_type"] in INTEGRATION_TYPES
    assert manifest["iot_class"] in IOT_CLASSES
    assert manifest["codeowners"], "at least one code owner"
    assert all(owner.startswith("@") for owner in manifest["codeowners"])
    for key in ("documentation", "issue_tracker"):
        assert manifest[key].startswith("https://"), key
    assert all(isinstance(item, str) for item in manifest.get("requirements", []))
    if manifest.get("config_flow"):
        assert (integration / "config_flow.py").is_file()


def test_manifest_version_is_valid_and_is_the_release(
    manifest: dict[str, Any], pyproject: dict[str, Any]
) -> None:
    """HA refuses a custom integration without a valid version; HACS shows it as the release."""
    version = AwesomeVersion(manifest["version"])
    assert version.strategy in {
        AwesomeVersionStrategy.SEMVER,
        AwesomeVersionStrategy.SIMPLEVER,
        AwesomeVersionStrategy.CALVER,
        AwesomeVersionStrategy.PEP440,
        AwesomeVersionStrategy.BUILDVER,
    }, f"{manifest['version']} is not a version HA accepts"
    assert manifest["version"] == pyproject["project"]["version"]


def _documentation_file() -> Path | None:
    manifest = json.loads(
        (REPO / "custom_components" / DOMAIN / "manifest.json").read_text("utf-8")
    )
    url: str = manifest.get("documentation", "")
    marker = "/blob/main/"
    return REPO / url.split(marker, 1)[1] if marker in url else None


@pytest.mark.xfail(
    condition=(doc := _documentation_file()) is not None and not doc.exists(),
    reason="the integration's documentation page (manifest 'documentation') is not written yet",
    strict=True,
)
def test_manifest_documentation_link_exists_in_the_repository(
    manifest: dict[str, Any], repo: Path
) -> None:
    """A link into this repository (…/blob/main/<path>) must name a file that exists."""
    marker = "/blob/main/"
    url = manifest["documentation"]
    if marker in url:
        assert (repo / url.split(marker, 1)[1]).is_file(), f"{url} points at a missing file"


@pytest.fixture
def hacs(repo: Path) -> dict[str, Any]:
    """hacs.json at the repository root."""
    data: dict[str, Any] = json.loads((repo / "hacs.json").read_text(encoding="utf-8"))
    return data


def test_hacs_json_has_only_known_keys(hacs: dict[str, Any]) -> None:
    """HACS's validation rejects unknown keys; name is required."""
    assert set(hacs) <= HACS_KEYS, f"unknown: {set(hacs) - HACS_KEYS}"
    assert isinstance(hacs.get("name"), str)
    assert hacs["name"]


def test_hacs_minimum_home_assistant_is_at_least_2025_4(hacs: dict[str, Any]) -> None:
    """The integration uses APIs of 2025.4; HACS must not offer it to older installations."""
    assert AwesomeVersion(hacs["homeassistant"]) >= MINIMUM_HA


def test_hacs_layout_is_one_integration_under_custom_components(
    hacs: dict[str, Any], repo: Path
) -> None:
    """Without content_in_root HACS installs the only folder under custom_components/."""
    assert not hacs.get("content_in_root", False)
    folders = [path.name for path in (repo / "custom_components").iterdir() if path.is_dir()]
    assert [name for name in folders if name != "__pycache__"] == [DOMAIN]


def test_strict_version_check_rejects_a_bad_version() -> None:
    """The version check above can fail: a non-version string has no accepted strategy."""
    assert AwesomeVersion("not a version").strategy == AwesomeVersionStrategy.UNKNOWN
