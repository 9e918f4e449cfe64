"""Tests of the automation blueprints in blueprints/automation/rotem_farm/."""
