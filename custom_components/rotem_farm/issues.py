"""Repair issues of Rotem Farm: problems only the user can solve, shown in Settings → Repairs.

A manual farm's linked entity that was deleted or renamed leaves the house's value unavailable
for good; its issue has a fix flow (repairs.py) to pick the entity to follow instead, or none.

"No farm selected" is not a wrong password: RotemNetWeb accepts the sign-in but has no farm to
show, because the account's farm selection is empty (a new account, or the farm was switched
off on the web site). Asking for the password again would not help; the user has to select the
farm on RotemNetWeb. The integration keeps trying at its usual pace and clears the issue as soon
as the farm answers again.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Final

from homeassistant.const import CONF_USERNAME
from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers import issue_registry as ir

from .const import DOMAIN
from .rotemnet import RotemNoFarmError

if TYPE_CHECKING:
    from .data import RotemFarmConfigEntry

NO_FARM_SELECTED: Final = "no_farm_selected"
LINKED_ENTITY_MISSING: Final = "linked_entity_missing"


def no_farm_issue_id(entry: RotemFarmConfigEntry) -> str:
    """One issue per farm entry: two accounts can each lose their selection."""
    return f"{NO_FARM_SELECTED}_{entry.entry_id}"


def _caused_by_no_farm(error: BaseException | None) -> bool:
    """Whether the library's "no farm selected" is somewhere in the chain of causes."""
    seen: set[int] = set()
    while error is not None and id(error) not in seen:
        if isinstance(error, RotemNoFarmError):
            return True
        seen.add(id(error))
        error = error.__cause__
    return False


@callback
def async_update_no_farm_issue(
    hass: HomeAssistant, entry: RotemFarmConfigEntry, error: BaseException | None
) -> None:
    """Raise or clear the "no farm selected" issue after a poll (``error`` None: it worked).

    Any other failure leaves the issue as it is: an unreachable service says nothing about the
    farm selection.
    """
    issue_id = no_farm_issue_id(entry)
    if error is None:
        ir.async_delete_issue(hass, DOMAIN, issue_id)
    elif _caused_by_no_farm(error):
        ir.async_create_issue(
            hass,
            DOMAIN,
            issue_id,
            is_fixable=False,
            is_persistent=False,
            severity=ir.IssueSeverity.ERROR,
            translation_key=NO_FARM_SELECTED,
            translation_placeholders={
                "farm": entry.title,
                "username": str(entry.data.get(CONF_USERNAME, "")),
            },
        )


def linked_entity_issue_id(entry_id: str, house_number: int, role: str) -> str:
    """One issue per link: each is fixed on its own."""
    return f"{LINKED_ENTITY_MISSING}_{entry_id}_{house_number}_{role}"


@callback
def async_create_linked_entity_issue(
    hass: HomeAssistant,
    entry: RotemFarmConfigEntry,
    house_number: int,
    role: str,
    entity_id: str,
    *,
    renamed_to: str | None = None,
) -> None:
    """Say that a house follows an entity that no longer exists; offer to pick another.

    ``renamed_to``: the entity's new id when it was renamed, proposed in the fix flow.
    """
    ir.async_create_issue(
        hass,
        DOMAIN,
        linked_entity_issue_id(entry.entry_id, house_number, role),
        is_fixable=True,
        is_persistent=False,
        severity=ir.IssueSeverity.WARNING,
        translation_key=LINKED_ENTITY_MISSING,
        translation_placeholders={
            "farm": entry.title,
            "house": str(house_number),
            "role": role.replace("_", " "),
            "entity_id": entity_id,
        },
        data={
            "entry_id": entry.entry_id,
            "house": house_number,
            "role": role,
            "entity_id": entity_id,
            "renamed_to": renamed_to,
        },
    )


@callback
def async_delete_linked_entity_issue(
    hass: HomeAssistant, entry: RotemFarmConfigEntry, house_number: int, role: str
) -> None:
    """The link works (again): its issue goes."""
    ir.async_delete_issue(hass, DOMAIN, linked_entity_issue_id(entry.entry_id, house_number, role))


@callback
def async_delete_issues(hass: HomeAssistant, entry: RotemFarmConfigEntry) -> None:
    """Remove the issues of a farm that is removed."""
    ir.async_delete_issue(hass, DOMAIN, no_farm_issue_id(entry))
    prefix = f"{LINKED_ENTITY_MISSING}_{entry.entry_id}_"
    for domain, issue_id in list(ir.async_get(hass).issues):
        if domain == DOMAIN and issue_id.startswith(prefix):
            ir.async_delete_issue(hass, DOMAIN, issue_id)
