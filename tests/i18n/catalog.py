"""A fresh extraction of the translatable strings and what the German catalog lacks of them.

`python -m tests.i18n.catalog` (run by `make translations`) lists the missing translations and
exits 1 when there are any; tests/i18n/test_catalog.py asserts there are none."""

from __future__ import annotations

import os
import sys
from pathlib import Path

from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parents[2]
KEYWORDS = {**DEFAULT_KEYWORDS, "_l": None, "lazy_gettext": None, "lazy_ngettext": (1, 2)}
TRANSLATED_LANGUAGES = ("de",)


def extracted() -> dict[str, str]:
    """msgid (the singular of a plural) → where it was first found."""
    with (ROOT / "babel.cfg").open() as cfg:
        method_map, options_map = parse_mapping_cfg(cfg)
    found: dict[str, str] = {}
    for filename, lineno, message, _comments, _context in extract_from_dir(
        str(ROOT), method_map, options_map, keywords=KEYWORDS
    ):
        msgid = message[0] if isinstance(message, tuple) else message
        if msgid:
            found.setdefault(msgid, f"{filename}:{lineno}")
    return found


def catalog(language: str):
    path = ROOT / "app" / "translations" / language / "LC_MESSAGES" / "messages.po"
    with path.open("rb") as po:
        return read_po(po, locale=language)


def compile_catalogs() -> None:
    """What `make compile-translations` does, for a test run started without make: each .po
    compiled to its .mo when the .mo is missing or older."""
    for po in (ROOT / "app" / "translations").glob("*/LC_MESSAGES/messages.po"):
        mo = po.with_suffix(".mo")
        if mo.exists() and mo.stat().st_mtime >= po.stat().st_mtime:
            continue
        with po.open("rb") as source:
            messages = read_po(source, locale=po.parent.parent.name)
        partial = mo.with_suffix(f".mo.{os.getpid()}")
        with partial.open("wb") as target:
            write_mo(target, messages)
        partial.replace(mo)


def untranslated(language: str) -> list[str]:
    """Each extracted string the catalog has no usable translation for, with where it is."""
    messages = catalog(language)
    missing = []
    for msgid, where in sorted(extracted().items()):
        message = messages.get(msgid)
        strings = message.string if message else None
        empty = not all(strings) if isinstance(strings, tuple | list) else not strings
        if message is None or empty or message.fuzzy:
            missing.append(f"{where}: {msgid!r}")
    return missing


def main() -> int:
    failed = False
    for language in TRANSLATED_LANGUAGES:
        missing = untranslated(language)
        for line in missing:
            print(f"{language}: {line}")
        print(f"{language}: {len(missing)} strings without a translation")
        failed = failed or bool(missing)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
