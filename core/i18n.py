"""The lab's languages: gettext catalogs for the interface, one per language, and the language of
the work in progress.

Interface strings are English in the source and marked where they are declared: `_("...")` is
translated when it runs, `N_("...")` only marks a string (a config field's help, a chart title in a
table) that is translated where it is shown, by `_(value)`. A string with values in it is a
template, `_("{n} runs").format(n=...)`, so a translation can move the values; never an f-string.

Korean lives in `locales/ko/LC_MESSAGES/messages.po`, a standard gettext catalog read with Babel at
first use (`python -m core.messages` updates it and lists what it lacks). English is the source: no catalog.

The language is a context variable: a page sets it for its script run (`using`), and everything
the run does in that thread (claims' evidence, notes, errors) comes out in that language. The CLI
never sets it, so it stays English.
"""

from __future__ import annotations

import contextlib
import functools
import re
from collections.abc import Iterator
from contextvars import ContextVar
from pathlib import Path

LANGUAGES = {"en": "English", "ko": "한국어"}  # code → its own name, as the language switch shows it
DEFAULT = "en"
LOCALES = Path(__file__).resolve().parent.parent / "locales"
PLACEHOLDER = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)[^{}]*\}")

_language: ContextVar[str] = ContextVar("language", default=DEFAULT)


def language() -> str:
    """The language of the work in this context."""
    return _language.get()


def _known(lang: str) -> str:
    return lang if lang in LANGUAGES else DEFAULT


def set_language(lang: str) -> None:
    """Set the language for the rest of this context (a page's script run); unknown codes are English."""
    _language.set(_known(lang))


@contextlib.contextmanager
def using(lang: str) -> Iterator[None]:
    """Work in `lang` inside the block."""
    token = _language.set(_known(lang))
    try:
        yield
    finally:
        _language.reset(token)


_extra: list[Path] = []  # the locales/ folders of lessons kept outside the tree (add_catalog)


def add_catalog(locales: Path) -> None:
    """Read `locales/<lang>/LC_MESSAGES/messages.po` too (a lesson outside the tree brings its strings'
    translations); the lab's own catalog wins where both translate a message."""
    if locales not in _extra:
        _extra.append(locales)
        catalog.cache_clear()


def _read(path: Path, lang: str) -> dict[str, str]:
    if not path.is_file():
        return {}
    from babel.messages.pofile import read_po  # only where a catalog is read

    with path.open("rb") as fh:
        entries = read_po(fh, locale=lang)
    return {m.id: m.string for m in entries
            if m.id and isinstance(m.id, str) and m.string and not m.fuzzy}


@functools.cache
def catalog(lang: str) -> dict[str, str]:
    """msgid → translation for `lang`, from its .po files (empty for English and for a missing file).
    Untranslated and fuzzy entries are left out, so they show in English rather than blank."""
    if lang == DEFAULT:
        return {}
    found: dict[str, str] = {}
    for folder in reversed([LOCALES, *_extra]):  # the lab's own catalog last: it wins
        found.update(_read(folder / lang / "LC_MESSAGES" / "messages.po", lang))
    return found


def gettext(message: str) -> str:
    """`message` in the current language (itself where no translation exists)."""
    if not message:
        return message
    lang = _language.get()
    return message if lang == DEFAULT else catalog(lang).get(message, message)


_ = gettext


def N_(message: str) -> str:  # noqa: N802 (gettext's own name for the marker)
    """Mark `message` for translation where it is shown; returns it unchanged."""
    return message


def placeholders(message: str) -> set[str]:
    """The `{name}` fields of a template, which its translation must keep."""
    return set(PLACEHOLDER.findall(message))
