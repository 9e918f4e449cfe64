#!/usr/bin/env python3
"""Regenerate custom_components/rotem_farm/translations/en.json from strings.json.

The work is done by `devtools.translations` (the tests import it from there); `--check` exits 1
when the committed file is out of date.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from devtools.translations import main

if __name__ == "__main__":
    sys.exit(main())
