#!/usr/bin/with-contenv bashio
# shellcheck shell=bash
# Add-on entry point: the Supervisor writes the options to /data/options.json and injects
# SUPERVISOR_TOKEN; ml_analyzer reads both (the token gives access to http://supervisor/core).
# Port 8099 serves /health for the Supervisor's watchdog (config.yaml `watchdog:`).
set -e
bashio::log.info "Starting the Rotem Farm ML analyzer"
exec python3 -m ml_analyzer run --config /data/options.json --health-port 8099
