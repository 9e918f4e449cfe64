"""Pure functions that turn decoded RotemNetWeb answers into models: the parsers' one import path.

They take what ``json.loads`` returned (so tests and the simulator can feed them captures) and
never do I/O. Every value goes through a small value helper that returns ``None`` for anything
that is not a clean value; only a wrong *structure* raises, and then always
:class:`RotemParseError`, so no ``KeyError`` or ``TypeError`` ever reaches a caller.

The work is split by answer; this module gathers the public names so callers need not know it:

- ``values.py``: one wire value -> one clean value (the value kinds).
- ``envelope.py``: JSON structure checks, the common envelope, the login.
- ``farm.py``: JsGlobals farm facts and the account's units.
- ``fields.py``: the field table (model field, site key, house-page key, kind) and its loop.
- ``site.py``: ``GetSiteControllersInfo``; ``commands.py``: the house page and history tables.
"""

from __future__ import annotations

from .commands import RNBL_SUCCESS, parse_history, parse_house_details
from .envelope import LoginResult, decode_json, parse_envelope, parse_login
from .farm import needs_registration, parse_farm_info, parse_units
from .site import parse_site
from .values import (
    IGNORED_VALUE,
    NOT_APPLICABLE_VALUE,
    parse_bool,
    parse_composite_number,
    parse_duration_minutes,
    parse_int,
    parse_number,
    parse_running,
    parse_series,
    parse_switch,
    parse_text,
)

__all__ = [
    "IGNORED_VALUE",
    "NOT_APPLICABLE_VALUE",
    "RNBL_SUCCESS",
    "LoginResult",
    "decode_json",
    "needs_registration",
    "parse_bool",
    "parse_composite_number",
    "parse_duration_minutes",
    "parse_envelope",
    "parse_farm_info",
    "parse_history",
    "parse_house_details",
    "parse_int",
    "parse_login",
    "parse_number",
    "parse_running",
    "parse_series",
    "parse_site",
    "parse_switch",
    "parse_text",
    "parse_units",
]
