#!/usr/bin/env python3
"""One release version for the integration, the add-on and the project, set from one place.

HACS shows ``manifest.json``'s version, the add-on store compares ``config.yaml``'s, the add-on
reports ``ml_analyzer.__version__`` and ``pyproject.toml`` names the project: four files that must
agree, or a release publishes an integration and an add-on image that disagree about what they
are. This script writes all four, and checks them (the release workflow checks them against the
tag before it publishes anything).

    scripts/bump_version.py 0.2.0            # write 0.2.0 everywhere (needs changelog entries)
    scripts/bump_version.py --check          # the four agree
    scripts/bump_version.py --check 0.2.0    # ... and are 0.2.0 (the release tag)
    scripts/bump_version.py --notes 0.2.0    # the 0.2.0 entries of both changelogs (release notes)

Exit status: 0 done, 1 the files disagree, 2 a bad argument or a file that cannot be updated
(one line on stderr naming it).
"""

from __future__ import annotations

import argparse
import re
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import NoReturn

ROOT = Path(__file__).resolve().parents[1]
VERSION = re.compile(r"\d+\.\d+\.\d+")


@dataclass(frozen=True)
class VersionField:
    """Where one file spells the version: a pattern whose group ``version`` is the value."""

    path: str
    pattern: str

    def read(self, root: Path) -> str:
        """The version this file holds; ValueError when the pattern is not there exactly once."""
        text = (root / self.path).read_text(encoding="utf-8")
        matches = list(re.finditer(self.pattern, text, re.MULTILINE))
        if len(matches) != 1:
            raise ValueError(f"{self.path}: expected one version line, found {len(matches)}")
        return matches[0].group("version")

    def write(self, root: Path, version: str) -> None:
        """Replace the version in place, leaving every other byte of the file as it was."""
        self.read(root)  # the same exactly-once check before anything is written
        path = root / self.path
        text = path.read_text(encoding="utf-8")
        match = re.search(self.pattern, text, re.MULTILINE)
        assert match is not None
        start, end = match.span("version")
        path.write_text(text[:start] + version + text[end:], encoding="utf-8")


FIELDS = (
    VersionField("pyproject.toml", r'^version = "(?P<version>[^"]+)"$'),
    VersionField(
        "custom_components/rotem_farm/manifest.json", r'^  "version": "(?P<version>[^"]+)"'
    ),
    VersionField("addon_ml_analyzer/config.yaml", r'^version: "(?P<version>[^"]+)"$'),
    VersionField(
        "addon_ml_analyzer/ml_analyzer/__init__.py", r'^__version__ = "(?P<version>[^"]+)"$'
    ),
)
CHANGELOGS = ("CHANGELOG.md", "addon_ml_analyzer/CHANGELOG.md")


def changelog_entry(root: Path, changelog: str, version: str) -> str:
    """The body of ``## <version>`` in a changelog; ValueError when there is none."""
    text = (root / changelog).read_text(encoding="utf-8")
    match = re.search(
        rf"^## {re.escape(version)}[^\n]*\n(?P<body>.*?)(?=^## |\Z)", text, re.MULTILINE | re.DOTALL
    )
    if match is None or not match.group("body").strip():
        raise ValueError(f"{changelog}: no entry '## {version}': write the changes first")
    return match.group("body").strip()


def versions(root: Path) -> dict[str, str]:
    """Every file's version, by path."""
    return {field.path: field.read(root) for field in FIELDS}


def check(root: Path, expected: str | None) -> list[str]:
    """What disagrees: each file whose version differs from the expected (or the first) one."""
    found = versions(root)
    want = expected or found[FIELDS[0].path]
    return [f"{path}: {value} (want {want})" for path, value in found.items() if value != want]


def bump(root: Path, version: str) -> None:
    """Write ``version`` into every file, after checking that both changelogs describe it."""
    for changelog in CHANGELOGS:
        changelog_entry(root, changelog, version)
    for field in FIELDS:
        field.read(root)
    for field in FIELDS:
        field.write(root, version)


def release_notes(root: Path, version: str) -> str:
    """The release's text: the integration's and the add-on's entries for this version."""
    integration = changelog_entry(root, CHANGELOGS[0], version)
    addon = changelog_entry(root, CHANGELOGS[1], version)
    return f"## Integration\n\n{integration}\n\n## Analyzer add-on\n\n{addon}\n"


def _version(text: str) -> str:
    """argparse type: a release version such as 1.2.3."""
    if not VERSION.fullmatch(text):
        raise argparse.ArgumentTypeError(f"not a version like 1.2.3: {text!r}")
    return text


class _Parser(argparse.ArgumentParser):
    """argparse with a one-line error (no usage block) for a bad argument."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"bump_version: {message}\n")


def main(argv: list[str] | None = None) -> int:
    """Command line; see the module docstring."""
    parser = _Parser(
        description="Set or check the one release version of the integration and add-on."
    )
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--check", action="store_true", help="only check that the files agree")
    mode.add_argument("--notes", action="store_true", help="print the version's release notes")
    parser.add_argument("version", nargs="?", type=_version, help="the release version, e.g. 1.2.3")
    parser.add_argument("--root", type=Path, default=ROOT, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if not args.check and args.version is None:
        parser.error("a version is needed (or --check)")
    try:
        if args.check:
            problems = check(args.root, args.version)
            for problem in problems:
                print(problem, file=sys.stderr)
            return 1 if problems else 0
        if args.notes:
            print(release_notes(args.root, args.version), end="")
            return 0
        bump(args.root, args.version)
    except (OSError, ValueError) as error:
        print(f"bump_version: {error}", file=sys.stderr)
        return 2
    print(f"version {args.version}: " + ", ".join(field.path for field in FIELDS))
    return 0


if __name__ == "__main__":
    sys.exit(main())
