"""Config flow of Rotem Farm: a Rotem account or a manual farm, set up entirely in the UI.

A Rotem account is checked by logging in before anything is created; its gateway code is the
entry's unique id, so one farm cannot be added twice. A manual farm gets a generated id.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any
from uuid import uuid4

import voluptuous as vol
from homeassistant import config_entries
from homeassistant.config_entries import ConfigFlow, ConfigFlowResult, OptionsFlow
from homeassistant.const import CONF_NAME, CONF_PASSWORD, CONF_USERNAME
from homeassistant.core import callback
from homeassistant.data_entry_flow import section
from homeassistant.helpers.aiohttp_client import async_create_clientsession
from homeassistant.helpers.selector import (
    BooleanSelector,
    EntitySelector,
    EntitySelectorConfig,
    NumberSelector,
    NumberSelectorConfig,
    NumberSelectorMode,
    SelectSelector,
    SelectSelectorConfig,
    SelectSelectorMode,
    TextSelector,
    TextSelectorConfig,
    TextSelectorType,
)

from .const import (
    CONF_BASE_URL,
    CONF_CAPACITY,
    CONF_FARM_KIND,
    CONF_FETCH_DETAILS,
    CONF_FETCH_HISTORY,
    CONF_HOUSES,
    CONF_LINKS,
    CONF_TARGET_AGE,
    DEFAULT_BASE_URL,
    DEFAULT_TARGET_AGE,
    DOMAIN,
    FARM_KIND_MANUAL,
    FARM_KIND_ROTEM,
    LOGGER,
)
from .data import API_STYLES, CONF_API_STYLE, DEFAULT_API_STYLE, RotemFarmConfigEntry
from .rotemnet import (
    LoginInfo,
    RotemAuthError,
    RotemClient,
    RotemConnectionError,
    RotemError,
    RotemNoFarmError,
)

SECTION_ADVANCED = "advanced"
MAX_HOUSES = 50
LINK_ROLES = ("temperature", "humidity", "placement_date", "bird_count")

# Home Assistant 2025.8 added an options flow base that reloads the entry itself; older
# releases need the update listener __init__.py installs when this is the plain base.
if TYPE_CHECKING:
    OptionsFlowBase = OptionsFlow
else:
    OptionsFlowBase = getattr(config_entries, "OptionsFlowWithReload", OptionsFlow)

_PASSWORD = TextSelector(TextSelectorConfig(type=TextSelectorType.PASSWORD))
_URL = TextSelector(TextSelectorConfig(type=TextSelectorType.URL))


def _rotem_schema(defaults: Mapping[str, Any]) -> vol.Schema:
    """Credentials, then the service address and login style, folded away."""
    return vol.Schema(
        {
            vol.Required(CONF_USERNAME, default=defaults.get(CONF_USERNAME, "")): TextSelector(
                TextSelectorConfig(type=TextSelectorType.TEXT, autocomplete="username")
            ),
            vol.Required(CONF_PASSWORD): _PASSWORD,
            vol.Required(SECTION_ADVANCED): section(
                vol.Schema(
                    {
                        vol.Required(
                            CONF_BASE_URL, default=defaults.get(CONF_BASE_URL, DEFAULT_BASE_URL)
                        ): _URL,
                        vol.Required(
                            CONF_API_STYLE,
                            default=defaults.get(CONF_API_STYLE, DEFAULT_API_STYLE),
                        ): SelectSelector(
                            SelectSelectorConfig(
                                options=list(API_STYLES),
                                translation_key=CONF_API_STYLE,
                                mode=SelectSelectorMode.DROPDOWN,
                            )
                        ),
                    }
                ),
                {"collapsed": True},
            ),
        }
    )


def link_selector_config(role: str) -> EntitySelectorConfig:
    """Which entities a house's link of ``role`` may follow (options flow, repair flow)."""
    if role == "temperature":
        return EntitySelectorConfig(domain="sensor", device_class="temperature")
    if role == "humidity":
        return EntitySelectorConfig(domain="sensor", device_class="humidity")
    if role == "placement_date":
        return EntitySelectorConfig(domain="input_datetime")
    return EntitySelectorConfig(domain=["input_number", "number", "sensor"])


def _houses_selector() -> NumberSelector:
    return NumberSelector(
        NumberSelectorConfig(min=1, max=MAX_HOUSES, step=1, mode=NumberSelectorMode.BOX)
    )


def _flatten(user_input: Mapping[str, Any]) -> dict[str, Any]:
    """Turn the form's answer (advanced options in a section) into entry data."""
    advanced = user_input.get(SECTION_ADVANCED, {})
    return {
        CONF_USERNAME: user_input[CONF_USERNAME],
        CONF_PASSWORD: user_input[CONF_PASSWORD],
        CONF_BASE_URL: advanced.get(CONF_BASE_URL, DEFAULT_BASE_URL),
        CONF_API_STYLE: advanced.get(CONF_API_STYLE, DEFAULT_API_STYLE),
    }


class RotemFarmConfigFlow(ConfigFlow, domain=DOMAIN):
    """Add a farm: a RotemNetWeb account or a farm kept by hand."""

    VERSION = 1
    # Minor version 2 dropped the polling interval option (async_migrate_entry).
    MINOR_VERSION = 2
    _title: str

    @staticmethod
    @callback
    def async_get_options_flow(config_entry: RotemFarmConfigEntry) -> RotemFarmOptionsFlow:
        """Options differ by farm kind; one flow handles both."""
        return RotemFarmOptionsFlow()

    async def _async_login(
        self, data: Mapping[str, Any], *, want_title: bool = False
    ) -> tuple[LoginInfo | None, str | None]:
        """Log in with ``data``; return the login or the translated error key.

        The check runs in an aiohttp session of its own, dropped afterwards: the sign-in's
        session cookie must not land in Home Assistant's shared session (every integration's
        requests use it) nor outlive the flow. With ``want_title`` the farm's name is read in the
        same session (``_title``).
        """
        session = async_create_clientsession(self.hass, auto_cleanup=False)
        try:
            client = RotemClient(
                session,
                data[CONF_USERNAME],
                data[CONF_PASSWORD],
                base_url=data[CONF_BASE_URL],
                api_style=data[CONF_API_STYLE],
            )
            try:
                login = await client.login()
            except RotemNoFarmError:
                return None, "no_farm"
            except RotemAuthError:
                return None, "invalid_auth"
            except RotemConnectionError:
                return None, "cannot_connect"
            except (RotemError, ValueError):
                LOGGER.exception("Unexpected error while logging in to RotemNetWeb")
                return None, "unknown"
            if want_title:
                self._title = await self._async_farm_title(client, login)
            return login, None
        finally:
            # Home Assistant's sessions share its connection pool: detach, never close.
            session.detach()

    @staticmethod
    async def _async_farm_title(client: RotemClient, login: LoginInfo) -> str:
        """Name the entry after the farm (its alias), not after the person who logs in.

        The alias costs one more request, once; when it is missing the account's display name
        or the gateway code stands in.
        """
        try:
            alias = (await client.get_farm_info()).alias
        except RotemError:
            alias = None
        return alias or login.user_display_name or f"Rotem farm {login.gateway_code}"

    async def async_step_user(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """Ask which kind of farm to add."""
        return self.async_show_menu(step_id="user", menu_options=["rotem", "manual"])

    async def async_step_rotem(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """Log in to the RotemNetWeb account and add its farm."""
        errors: dict[str, str] = {}
        if user_input is not None:
            data = _flatten(user_input)
            login, error = await self._async_login(data, want_title=True)
            if login is not None:
                await self.async_set_unique_id(login.gateway_code)
                self._abort_if_unique_id_configured()
                return self.async_create_entry(
                    title=self._title,
                    data={CONF_FARM_KIND: FARM_KIND_ROTEM, **data},
                )
            errors["base"] = error or "unknown"
        defaults = _flatten(user_input) if user_input else {}
        return self.async_show_form(
            step_id="rotem", data_schema=_rotem_schema(defaults), errors=errors
        )

    async def async_step_manual(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """Add a farm whose values come from other sensors and from the farmer."""
        if user_input is not None:
            await self.async_set_unique_id(uuid4().hex)
            data: dict[str, Any] = {
                CONF_FARM_KIND: FARM_KIND_MANUAL,
                CONF_HOUSES: int(user_input[CONF_HOUSES]),
            }
            if user_input.get(CONF_CAPACITY):
                data[CONF_CAPACITY] = int(user_input[CONF_CAPACITY])
            return self.async_create_entry(title=user_input[CONF_NAME], data=data)
        return self.async_show_form(
            step_id="manual",
            data_schema=vol.Schema(
                {
                    vol.Required(CONF_NAME): TextSelector(),
                    vol.Required(CONF_HOUSES, default=1): _houses_selector(),
                    vol.Optional(CONF_CAPACITY): NumberSelector(
                        NumberSelectorConfig(
                            min=1, max=1_000_000, step=1, mode=NumberSelectorMode.BOX
                        )
                    ),
                }
            ),
        )

    async def async_step_reauth(self, entry_data: Mapping[str, Any]) -> ConfigFlowResult:
        """The cloud refused the stored password: ask for a new one."""
        return await self.async_step_reauth_confirm()

    async def async_step_reauth_confirm(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Check the new password against the same farm, then reload."""
        entry = self._get_reauth_entry()
        errors: dict[str, str] = {}
        if user_input is not None:
            data = {**entry.data, CONF_PASSWORD: user_input[CONF_PASSWORD]}
            login, error = await self._async_login(data)
            if login is not None:
                await self.async_set_unique_id(login.gateway_code)
                self._abort_if_unique_id_mismatch(reason="wrong_account")
                return self.async_update_reload_and_abort(entry, data=data)
            errors["base"] = error or "unknown"
        return self.async_show_form(
            step_id="reauth_confirm",
            data_schema=vol.Schema({vol.Required(CONF_PASSWORD): _PASSWORD}),
            description_placeholders={CONF_USERNAME: entry.data[CONF_USERNAME]},
            errors=errors,
        )

    async def async_step_reconfigure(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Change the address or credentials of an account, or a manual farm's houses."""
        entry = self._get_reconfigure_entry()
        if entry.data[CONF_FARM_KIND] == FARM_KIND_MANUAL:
            return await self.async_step_reconfigure_manual(user_input)
        errors: dict[str, str] = {}
        if user_input is not None:
            data = _flatten(user_input)
            login, error = await self._async_login(data)
            if login is not None:
                await self.async_set_unique_id(login.gateway_code)
                self._abort_if_unique_id_mismatch(reason="wrong_account")
                return self.async_update_reload_and_abort(entry, data_updates=data)
            errors["base"] = error or "unknown"
        defaults = _flatten(user_input) if user_input else entry.data
        return self.async_show_form(
            step_id="reconfigure", data_schema=_rotem_schema(defaults), errors=errors
        )

    async def async_step_reconfigure_manual(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Change how many houses a manual farm has."""
        entry = self._get_reconfigure_entry()
        if user_input is not None:
            return self.async_update_reload_and_abort(
                entry, data_updates={CONF_HOUSES: int(user_input[CONF_HOUSES])}
            )
        return self.async_show_form(
            step_id="reconfigure_manual",
            data_schema=vol.Schema(
                {
                    vol.Required(CONF_HOUSES, default=entry.data[CONF_HOUSES]): _houses_selector(),
                }
            ),
        )


class RotemFarmOptionsFlow(OptionsFlowBase):
    """History and house details for accounts; target age for both; sensor links when manual.

    There is no polling interval: it is fixed (Home Assistant's appropriate-polling rule);
    ``homeassistant.update_entity`` asks for a reading in between.
    """

    def __init__(self) -> None:
        """Start with no answers; manual farms collect links house by house."""
        self._options: dict[str, Any] = {}
        self._house = 0

    @property
    def _manual(self) -> bool:
        return bool(self.config_entry.data[CONF_FARM_KIND] == FARM_KIND_MANUAL)

    async def async_step_init(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """Ask the farm-wide options."""
        options = self.config_entry.options
        if user_input is not None:
            self._options = {**options, **user_input}
            self._options[CONF_TARGET_AGE] = int(user_input[CONF_TARGET_AGE])
            if not self._manual:
                return self.async_create_entry(data=self._options)
            self._options[CONF_LINKS] = dict(options.get(CONF_LINKS, {}))
            self._house = 1
            return await self.async_step_house()
        fields: dict[vol.Marker, Any] = {}
        if not self._manual:
            fields[
                vol.Required(CONF_FETCH_HISTORY, default=options.get(CONF_FETCH_HISTORY, False))
            ] = BooleanSelector()
            fields[
                vol.Required(CONF_FETCH_DETAILS, default=options.get(CONF_FETCH_DETAILS, False))
            ] = BooleanSelector()
        fields[
            vol.Required(CONF_TARGET_AGE, default=options.get(CONF_TARGET_AGE, DEFAULT_TARGET_AGE))
        ] = NumberSelector(
            NumberSelectorConfig(
                min=1, max=400, step=1, mode=NumberSelectorMode.BOX, unit_of_measurement="d"
            )
        )
        return self.async_show_form(step_id="init", data_schema=vol.Schema(fields))

    async def async_step_house(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """Link one house of a manual farm to the entities that measure it."""
        links: dict[str, dict[str, str]] = self._options[CONF_LINKS]
        if user_input is not None:
            chosen = {role: user_input[role] for role in LINK_ROLES if user_input.get(role)}
            if chosen:
                links[str(self._house)] = chosen
            else:
                links.pop(str(self._house), None)
            self._house += 1
            if self._house > int(self.config_entry.data[CONF_HOUSES]):
                return self.async_create_entry(data=self._options)
        current = links.get(str(self._house), {})
        selectors = {role: link_selector_config(role) for role in LINK_ROLES}
        return self.async_show_form(
            step_id="house",
            data_schema=vol.Schema(
                {
                    vol.Optional(
                        role, description={"suggested_value": current.get(role)}
                    ): EntitySelector(config)
                    for role, config in selectors.items()
                }
            ),
            description_placeholders={"house": str(self._house)},
            last_step=self._house == int(self.config_entry.data[CONF_HOUSES]),
        )
