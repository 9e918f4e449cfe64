"""Host-side helpers for scripts/newest_ha: the parts that are easier to get right in Python.

The script prepares a Debian sid root for the newest Home Assistant. It needs the Debian mirror
this machine already uses (a machine without internet access reaches only that one), the test
group of pyproject.toml, and a pip configuration that works inside the root. Each is a pure
function here so tests/packaging can check them without a chroot.

Usage: python3 devtools/newest_ha.py mirror [ETC_APT] | test-requirements PYPROJECT
       | pip-conf SRC ROOT | junit-summary JUNIT_XML
(run as a file by the system's python3: standard library only)
"""

from __future__ import annotations

import configparser
import io
import sys
import tomllib
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any
from xml.etree import ElementTree

#: pip options whose value names a package index or a wheel folder.
INDEX_OPTIONS = frozenset({"index-url", "extra-index-url", "find-links"})
#: pip options whose value names one file that the root needs a copy of.
FILE_OPTIONS = frozenset({"cert", "client-cert", "constraint", "requirement"})


def _is_debian_archive(uri: str) -> bool:
    """Tell the main archive from the security, backports or third-party ones.

    debootstrap needs the main archive: sid exists only there.
    """
    path = uri.rstrip("/")
    return path.endswith("/debian") and "security" not in path


def mirrors_from_one_line(text: str) -> list[str]:
    """Debian archive URIs in the one-line format (sources.list): `deb [opts] URI suite comps`."""
    found: list[str] = []
    for raw in text.splitlines():
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        words = line.split()
        if words[0] != "deb":
            continue
        rest = words[1:]
        if rest and rest[0].startswith("["):
            while rest and not rest[0].endswith("]"):
                rest = rest[1:]
            rest = rest[1:]
        if rest and _is_debian_archive(rest[0]):
            found.append(rest[0])
    return found


def mirrors_from_deb822(text: str) -> list[str]:
    """Debian archive URIs in the deb822 format (*.sources): stanzas with Types/URIs fields."""
    found: list[str] = []
    for stanza in _deb822_stanzas(text):
        if stanza.get("enabled", "yes").lower() == "no":
            continue
        if "deb" not in stanza.get("types", "").split():
            continue
        found.extend(uri for uri in stanza.get("uris", "").split() if _is_debian_archive(uri))
    return found


def _deb822_stanzas(text: str) -> Iterable[dict[str, str]]:
    """Split deb822 text into stanzas of lower-cased field names; comments are dropped."""
    stanza: dict[str, str] = {}
    field = ""
    for raw in [*text.splitlines(), ""]:
        if raw.startswith("#"):
            continue
        if not raw.strip():
            if stanza:
                yield stanza
            stanza, field = {}, ""
        elif raw[0] in " \t" and field:
            stanza[field] += " " + raw.strip()
        elif ":" in raw:
            name, value = raw.split(":", 1)
            field = name.strip().lower()
            stanza[field] = value.strip()


def find_mirror(etc_apt: Path) -> str | None:
    """The first Debian archive mirror in this machine's apt sources, or None.

    sources.list comes first (it is the classic place), then sources.list.d/*.list and
    *.sources in name order, as apt reads them. Files with other suffixes (for example
    `.disabled`) are ignored, as apt ignores them.
    """
    candidates: list[tuple[Path, bool]] = [(etc_apt / "sources.list", False)]
    parts = etc_apt / "sources.list.d"
    if parts.is_dir():
        for path in sorted(parts.iterdir()):
            if path.suffix == ".list":
                candidates.append((path, False))
            elif path.suffix == ".sources":
                candidates.append((path, True))
    for path, deb822 in candidates:
        if not path.is_file():
            continue
        text = path.read_text(encoding="utf-8", errors="replace")
        found = mirrors_from_deb822(text) if deb822 else mirrors_from_one_line(text)
        if found:
            return found[0]
    return None


def group_requirements(pyproject: Mapping[str, Any], group: str = "test") -> list[str]:
    """Requirement strings of a PEP 735 dependency group, with `include-group` expanded."""
    groups: Mapping[str, Sequence[Any]] = pyproject.get("dependency-groups", {})
    result: list[str] = []

    def expand(name: str, seen: tuple[str, ...]) -> None:
        if name in seen:
            raise ValueError(f"dependency group cycle: {' -> '.join((*seen, name))}")
        for item in groups[name]:
            if isinstance(item, str):
                if item not in result:
                    result.append(item)
            else:
                expand(str(item["include-group"]), (*seen, name))

    expand(group, ())
    return result


def pip_conf_for_root(text: str, root: Path) -> tuple[str, list[Path]]:
    """Rewrite a pip configuration for use inside `root`.

    Returns the new text and the local files it names (a CA bundle, a constraints file) that
    must be copied into the root at the same path. Local indexes and wheel folders that do not
    exist inside the root are dropped: pip would fail on them, and the root reaches PyPI itself.
    """
    parser = configparser.ConfigParser(interpolation=None)
    parser.read_string(text)
    to_copy: list[Path] = []
    for section in parser.sections():
        for option, value in list(parser.items(section, raw=True)):
            kept = []
            for item in value.split():
                path = _local_path(item)
                if path is None:
                    kept.append(item)
                elif option in FILE_OPTIONS:
                    kept.append(item)
                    if path.is_file():
                        to_copy.append(path)
                elif option in INDEX_OPTIONS and (root / path.relative_to("/")).exists():
                    kept.append(item)
            if kept:
                parser.set(section, option, " ".join(kept))
            else:
                parser.remove_option(section, option)
    out = io.StringIO()
    parser.write(out)
    return out.getvalue(), to_copy


def junit_summary(xml_text: str) -> str:
    """A Markdown table of passed/failed/error/skipped tests per test file, from pytest's JUnit XML.

    docs/newest_ha.md records the newest release's results in this form; failing test ids are
    listed under the table so the record says exactly what broke.
    """
    counts: dict[str, dict[str, int]] = {}
    failing: list[str] = []
    for case in ElementTree.fromstring(xml_text).iter("testcase"):
        module = case.get("classname", "").split("::")[0]
        file = module.replace(".", "/") + ".py" if module else "?"
        outcome = "passed"
        for child in case:
            if child.tag in ("failure", "error", "skipped"):
                outcome = {"failure": "failed", "error": "error", "skipped": "skipped"}[child.tag]
        if outcome == "skipped" and any(child.get("type") == "pytest.xfail" for child in case):
            outcome = "xfailed"
        row = counts.setdefault(file, dict.fromkeys(_OUTCOMES, 0))
        row[outcome] += 1
        if outcome in ("failed", "error"):
            failing.append(f"{file}::{case.get('name')} ({outcome})")
    lines = ["| test file | " + " | ".join(_OUTCOMES) + " |", "|---" * (len(_OUTCOMES) + 1) + "|"]
    totals = dict.fromkeys(_OUTCOMES, 0)
    for file, row in sorted(counts.items()):
        lines.append(f"| {file} | " + " | ".join(str(row[o]) for o in _OUTCOMES) + " |")
        for outcome in _OUTCOMES:
            totals[outcome] += row[outcome]
    lines.append("| **total** | " + " | ".join(str(totals[o]) for o in _OUTCOMES) + " |")
    if failing:
        lines += ["", "Failing:", "", *(f"- `{item}`" for item in failing)]
    return "\n".join(lines) + "\n"


_OUTCOMES = ("passed", "failed", "error", "skipped", "xfailed")


def _local_path(value: str) -> Path | None:
    """The absolute local path a pip option value names, or None for a URL or a word."""
    if value.startswith("file://"):
        return Path(value.removeprefix("file://"))
    if value.startswith("/"):
        return Path(value)
    return None


def main(argv: Sequence[str]) -> int:
    """Command-line entry used by scripts/newest_ha; prints results on stdout."""
    if not argv:
        sys.stderr.write(__doc__ or "")
        return 2
    command, args = argv[0], argv[1:]
    if command == "mirror":
        mirror = find_mirror(Path(args[0] if args else "/etc/apt"))
        if mirror is None:
            sys.stderr.write("newest_ha: no Debian archive in the apt sources\n")
            return 1
        sys.stdout.write(mirror + "\n")
    elif command == "test-requirements":
        with Path(args[0]).open("rb") as handle:
            sys.stdout.write("\n".join(group_requirements(tomllib.load(handle))) + "\n")
    elif command == "pip-conf":
        source, root = Path(args[0]), Path(args[1])
        text, files = pip_conf_for_root(source.read_text(encoding="utf-8"), root)
        target = root / source.relative_to("/")
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, encoding="utf-8")
        for path in files:
            copy = root / path.relative_to("/")
            copy.parent.mkdir(parents=True, exist_ok=True)
            copy.write_bytes(path.read_bytes())
    elif command == "junit-summary":
        sys.stdout.write(junit_summary(Path(args[0]).read_text(encoding="utf-8")))
    else:
        sys.stderr.write(f"newest_ha: unknown helper command {command}\n")
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
