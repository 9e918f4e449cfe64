"""Rotem Farm ML analyzer: finds abnormal poultry houses and reports them to Home Assistant.

Runs as a Home Assistant add-on or standalone (`python -m ml_analyzer run`); reads the houses'
history from InfluxDB 1.x/2.x or HA's recorder and reports through the rotem_farm integration.
"""

__version__ = "0.1.0"
