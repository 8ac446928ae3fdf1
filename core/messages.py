"""Every interface string the lab shows, for its translators and its tests.

`python -m core.messages` rewrites each language's catalog (`locales/<lang>/LC_MESSAGES/messages.po`)
with every current message: translations are kept, new messages come in untranslated, and messages
no code shows any more are dropped. It then lists what each language still lacks.

The messages are what Babel extracts from the code (`_` and `N_` calls in lab.py, core/, ui/ and
pages/) plus the config fields' labels that come from their names (a field `batch_size` is
labelled "Batch size" without a literal anywhere).
"""

from __future__ import annotations

import sys
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_dir, extract_from_file
from babel.messages.pofile import read_po, write_po

from .i18n import DEFAULT, LANGUAGES, LOCALES, catalog

ROOT = LOCALES.parent
KEYWORDS = {"_": None, "N_": None}
SOURCES = ("core", "ui", "pages")


def extracted() -> dict[str, list[str]]:
    """msgid → where it occurs (`path:line`), in the order found."""
    found: dict[str, list[str]] = {}

    def add(msg, where: str) -> None:
        if isinstance(msg, str) and msg:
            found.setdefault(msg, []).append(where)

    for folder in SOURCES:
        for path, line, msg, _comments, _context in extract_from_dir(
                ROOT / folder, method_map=[("**.py", "python")], keywords=KEYWORDS):
            add(msg, f"{folder}/{path}:{line}")
    for line, msg, _comments, _context in extract_from_file("python", ROOT / "lab.py", keywords=KEYWORDS):
        add(msg, f"lab.py:{line}")
    return found


def config_classes() -> list[type]:
    """Every Config class whose fields a page draws as widgets."""
    from .experiments import LESSONS
    from .gallery import GalleryConfig

    classes = [e.config for lesson in LESSONS for e in lesson.experiments] + [GalleryConfig]
    return list(dict.fromkeys(classes))


def field_labels() -> dict[str, list[str]]:
    """The labels fields take from their names (no literal to extract), with where they come from."""
    from .config import specs

    out: dict[str, list[str]] = {}
    for cls in config_classes():
        for f in specs(cls):
            if not f.metadata.get("label"):
                out.setdefault(f.name.replace("_", " ").capitalize(), []).append(f"{cls.__module__}.{cls.__name__}")
    return out


def messages() -> dict[str, list[str]]:
    """Every interface message and where it comes from."""
    found = extracted()
    for msg, where in field_labels().items():
        found.setdefault(msg, []).extend(where)
    return found


def po_path(lang: str) -> Path:
    return LOCALES / lang / "LC_MESSAGES" / "messages.po"


def update(lang: str, current: dict[str, list[str]] | None = None) -> list[str]:
    """Rewrite `lang`'s catalog with `current` messages (default: extracted now), keeping its translations;
    return what it lacks."""
    path = po_path(lang)
    old = {}
    if path.is_file():
        with path.open("rb") as fh:
            old = {m.id: m for m in read_po(fh, locale=lang) if m.id}
    new = Catalog(locale=lang, project="Deep-Net Training Lab", version="1", charset="utf-8",
                  header_comment=f"# {LANGUAGES[lang]} interface strings of the Deep-Net Training Lab.\n"
                                 "# Rewritten by `python -m core.messages`; translate the empty msgstr entries.\n"
                                 "# Terms: the study group's glossary (shared/glossary-ko.md).",
                  last_translator="Deep-Net Training Lab team", language_team=f"{LANGUAGES[lang]} study group")
    lacking = []
    for msg, where in (current if current is not None else messages()).items():
        kept = old.get(msg)
        string = kept.string if kept is not None else ""
        locations = [(w.rsplit(":", 1)[0], int(w.rsplit(":", 1)[1])) if ":" in w else (w, 0) for w in where]
        new.add(msg, string, locations=locations, flags=kept.flags if kept is not None else ())
        if not string:
            lacking.append(msg)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("wb") as fh:
        write_po(fh, new, width=100, sort_output=False, omit_header=False)
    catalog.cache_clear()
    return lacking


if __name__ == "__main__":  # pragma: no cover - a translator's tool
    found = messages()
    for code in LANGUAGES:
        if code != DEFAULT:
            gaps = update(code, found)
            print(f"{code}: {len(found)} messages, {len(gaps)} untranslated", file=sys.stderr)
            for gap in gaps:
                print(gap)
