"""Config, reauth, reconfigure and options flows: every path, every error and its recovery."""

from __future__ import annotations

from typing import Any
from unittest.mock import MagicMock

import pytest
from homeassistant.config_entries import SOURCE_USER, ConfigFlowResult
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.rotem_farm.const import (
    CONF_FETCH_DETAILS,
    CONF_FETCH_HISTORY,
    CONF_LINKS,
    CONF_TARGET_AGE,
    DOMAIN,
)
from custom_components.rotem_farm.rotemnet import (
    LoginInfo,
    RotemApiError,
    RotemAuthError,
    RotemConnectionError,
    RotemNoFarmError,
)

from .conftest import GATEWAY

pytestmark = pytest.mark.usefixtures("mock_client")

ROTEM_INPUT: dict[str, Any] = {
    "username": "farmer@example.com",
    "password": "s3cret",
    "advanced": {"base_url": "http://127.0.0.1:8123/", "api_style": "api"},
}


async def _unload(hass: HomeAssistant, entry: MockConfigEntry) -> None:
    """Stop the entry the flow reloaded, so no poll timer outlives the test."""
    await hass.async_block_till_done()
    await hass.config_entries.async_unload(entry.entry_id)
    await hass.async_block_till_done()


async def _start_rotem(hass: HomeAssistant) -> ConfigFlowResult:
    result = await hass.config_entries.flow.async_init(DOMAIN, context={"source": SOURCE_USER})
    assert result["type"] is FlowResultType.MENU
    assert result["menu_options"] == ["rotem", "manual"]
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {"next_step_id": "rotem"}
    )
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "rotem"
    return result


async def test_rotem_account_created(hass: HomeAssistant, mock_client: MagicMock) -> None:
    """A working login creates the entry keyed by gateway code, with the advanced options."""
    result = await _start_rotem(hass)
    result = await hass.config_entries.flow.async_configure(result["flow_id"], ROTEM_INPUT)
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["title"] == "Green Valley"
    assert result["result"].unique_id == GATEWAY
    assert result["data"] == {
        "farm_kind": "rotem",
        "username": "farmer@example.com",
        "password": "s3cret",
        "base_url": "http://127.0.0.1:8123/",
        "api_style": "api",
    }


async def test_rotem_title_falls_back(hass: HomeAssistant, mock_client: MagicMock) -> None:
    """Without the farm's alias: the account's display name, then the gateway code."""
    mock_client.get_farm_info.side_effect = RotemConnectionError("down")
    result = await _start_rotem(hass)
    result = await hass.config_entries.flow.async_configure(result["flow_id"], ROTEM_INPUT)
    assert result["title"] == "Jane Farmer"
    await hass.config_entries.async_remove(result["result"].entry_id)
    mock_client.login.return_value = LoginInfo(gateway_code=GATEWAY, web_server_url="/H/")
    result = await _start_rotem(hass)
    result = await hass.config_entries.flow.async_configure(result["flow_id"], ROTEM_INPUT)
    assert result["title"] == f"Rotem farm {GATEWAY}"


@pytest.mark.parametrize(
    ("error", "key"),
    [
        (RotemNoFarmError("no farm"), "no_farm"),
        (RotemAuthError("refused"), "invalid_auth"),
        (RotemConnectionError("down"), "cannot_connect"),
        (RotemApiError("odd"), "unknown"),
    ],
)
async def test_rotem_errors_and_recovery(
    hass: HomeAssistant, mock_client: MagicMock, error: Exception, key: str
) -> None:
    """Each failure shows its translated error and keeps the form; a retry then succeeds."""
    result = await _start_rotem(hass)
    mock_client.login.side_effect = error
    result = await hass.config_entries.flow.async_configure(result["flow_id"], ROTEM_INPUT)
    assert result["type"] is FlowResultType.FORM
    assert result["errors"] == {"base": key}
    mock_client.login.side_effect = None
    result = await hass.config_entries.flow.async_configure(result["flow_id"], ROTEM_INPUT)
    assert result["type"] is FlowResultType.CREATE_ENTRY


async def test_rotem_duplicate_aborts(hass: HomeAssistant, rotem_entry: MockConfigEntry) -> None:
    """The same gateway cannot be added twice."""
    rotem_entry.add_to_hass(hass)
    result = await _start_rotem(hass)
    result = await hass.config_entries.flow.async_configure(result["flow_id"], ROTEM_INPUT)
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "already_configured"


async def test_manual_farm_created(hass: HomeAssistant) -> None:
    """A manual farm needs no login and gets a generated unique id."""
    result = await hass.config_entries.flow.async_init(DOMAIN, context={"source": SOURCE_USER})
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {"next_step_id": "manual"}
    )
    assert result["step_id"] == "manual"
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {"name": "Hilltop", "houses": 3, "capacity": 20000}
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["title"] == "Hilltop"
    assert result["data"] == {"farm_kind": "manual", "houses": 3, "capacity": 20000}
    assert len(result["result"].unique_id) == 32


async def test_manual_farm_without_capacity(hass: HomeAssistant) -> None:
    """Capacity is optional and then absent, not 0."""
    result = await hass.config_entries.flow.async_init(DOMAIN, context={"source": SOURCE_USER})
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {"next_step_id": "manual"}
    )
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {"name": "Hilltop", "houses": 2}
    )
    assert result["data"] == {"farm_kind": "manual", "houses": 2}


async def test_reauth(
    hass: HomeAssistant, rotem_entry: MockConfigEntry, mock_client: MagicMock
) -> None:
    """A refused new password shows the error; the right one updates the entry."""
    rotem_entry.add_to_hass(hass)
    result = await rotem_entry.start_reauth_flow(hass)
    assert result["step_id"] == "reauth_confirm"
    assert result["description_placeholders"]["username"] == "farmer@example.com"
    mock_client.login.side_effect = RotemAuthError("refused")
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {"password": "wrong"}
    )
    assert result["errors"] == {"base": "invalid_auth"}
    mock_client.login.side_effect = None
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {"password": "new-pass"}
    )
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "reauth_successful"
    assert rotem_entry.data["password"] == "new-pass"
    await _unload(hass, rotem_entry)


async def test_reauth_other_farm_aborts(
    hass: HomeAssistant, rotem_entry: MockConfigEntry, mock_client: MagicMock
) -> None:
    """Credentials of another farm do not silently replace this one."""
    rotem_entry.add_to_hass(hass)
    mock_client.login.return_value = LoginInfo(gateway_code="OTHER", web_server_url="/H/")
    result = await rotem_entry.start_reauth_flow(hass)
    result = await hass.config_entries.flow.async_configure(result["flow_id"], {"password": "x"})
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "wrong_account"
    assert rotem_entry.data["password"] == "s3cret"


async def test_reconfigure_rotem(
    hass: HomeAssistant, rotem_entry: MockConfigEntry, mock_client: MagicMock
) -> None:
    """Address and credentials change after a check; errors keep the form."""
    rotem_entry.add_to_hass(hass)
    result = await rotem_entry.start_reconfigure_flow(hass)
    assert result["step_id"] == "reconfigure"
    mock_client.login.side_effect = RotemConnectionError("down")
    result = await hass.config_entries.flow.async_configure(result["flow_id"], ROTEM_INPUT)
    assert result["errors"] == {"base": "cannot_connect"}
    mock_client.login.side_effect = None
    result = await hass.config_entries.flow.async_configure(result["flow_id"], ROTEM_INPUT)
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "reconfigure_successful"
    assert rotem_entry.data["base_url"] == "http://127.0.0.1:8123/"
    assert rotem_entry.data["api_style"] == "api"
    await _unload(hass, rotem_entry)


async def test_reconfigure_rotem_other_farm(
    hass: HomeAssistant, rotem_entry: MockConfigEntry, mock_client: MagicMock
) -> None:
    """Reconfiguring to an account of another farm aborts."""
    rotem_entry.add_to_hass(hass)
    mock_client.login.return_value = LoginInfo(gateway_code="OTHER", web_server_url="/H/")
    result = await rotem_entry.start_reconfigure_flow(hass)
    result = await hass.config_entries.flow.async_configure(result["flow_id"], ROTEM_INPUT)
    assert result["reason"] == "wrong_account"


def _manual_entry(houses: int = 2, options: dict[str, Any] | None = None) -> MockConfigEntry:
    return MockConfigEntry(
        domain=DOMAIN,
        title="Hilltop",
        unique_id="manual-id",
        data={"farm_kind": "manual", "houses": houses},
        options=options or {},
    )


async def test_reconfigure_manual(hass: HomeAssistant) -> None:
    """A manual farm's house count can change."""
    entry = _manual_entry()
    entry.add_to_hass(hass)
    result = await entry.start_reconfigure_flow(hass)
    assert result["step_id"] == "reconfigure_manual"
    result = await hass.config_entries.flow.async_configure(result["flow_id"], {"houses": 4})
    assert result["reason"] == "reconfigure_successful"
    assert entry.data["houses"] == 4
    await _unload(hass, entry)


async def test_options_rotem(hass: HomeAssistant, rotem_entry: MockConfigEntry) -> None:
    """History, house details and target age are stored as typed options; no poll interval."""
    rotem_entry.add_to_hass(hass)
    result = await hass.config_entries.options.async_init(rotem_entry.entry_id)
    assert result["step_id"] == "init"
    schema = result["data_schema"]
    assert schema is not None
    assert set(schema.schema) == {
        CONF_FETCH_HISTORY,
        CONF_FETCH_DETAILS,
        CONF_TARGET_AGE,
    }
    result = await hass.config_entries.options.async_configure(
        result["flow_id"],
        {
            CONF_FETCH_HISTORY: True,
            CONF_FETCH_DETAILS: True,
            CONF_TARGET_AGE: 38.0,
        },
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert rotem_entry.options == {
        CONF_FETCH_HISTORY: True,
        CONF_FETCH_DETAILS: True,
        CONF_TARGET_AGE: 38,
    }


async def test_options_manual_links(hass: HomeAssistant) -> None:
    """A manual farm links each house in turn; an emptied house loses its links."""
    entry = _manual_entry(
        options={CONF_LINKS: {"2": {"temperature": "sensor.old"}}, CONF_TARGET_AGE: 42}
    )
    entry.add_to_hass(hass)
    result = await hass.config_entries.options.async_init(entry.entry_id)
    schema = result["data_schema"]
    assert schema is not None
    assert set(schema.schema) == {CONF_TARGET_AGE}
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], {CONF_TARGET_AGE: 35}
    )
    assert result["step_id"] == "house"
    assert result["description_placeholders"] == {"house": "1"}
    assert result["last_step"] is False
    result = await hass.config_entries.options.async_configure(
        result["flow_id"],
        {
            "temperature": "sensor.house_1_temperature",
            "humidity": "sensor.house_1_humidity",
            "placement_date": "input_datetime.house_1_placement",
            "bird_count": "input_number.house_1_birds",
        },
    )
    assert result["step_id"] == "house"
    assert result["description_placeholders"] == {"house": "2"}
    assert result["last_step"] is True
    result = await hass.config_entries.options.async_configure(result["flow_id"], {})
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert entry.options == {
        CONF_TARGET_AGE: 35,
        CONF_LINKS: {
            "1": {
                "temperature": "sensor.house_1_temperature",
                "humidity": "sensor.house_1_humidity",
                "placement_date": "input_datetime.house_1_placement",
                "bird_count": "input_number.house_1_birds",
            }
        },
    }
    await _unload(hass, entry)
