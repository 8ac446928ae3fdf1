"""Lesson prose from content/<lang>/<lesson>.md: sections, with $$…$$ blocks drawn by st.latex."""

from __future__ import annotations

import functools
import re
from pathlib import Path

import streamlit as st

from core.i18n import DEFAULT, language

CONTENT = Path(__file__).resolve().parent.parent / "content"
SECTION = re.compile(r"^<!--\s*section:\s*([\w-]+)\s*-->\s*$", re.M)


def sections(lesson: str, lang: str | None = None) -> dict[str, str]:
    """A lesson's markdown in `lang` (default: the current language), split at `<!-- section: name -->`
    markers (text before one is 'intro'). A language without this lesson's file falls back to English."""
    lang = lang or language()
    return _sections(lesson, lang if (CONTENT / lang / f"{lesson}.md").is_file() else DEFAULT)


@functools.cache
def _sections(lesson: str, lang: str) -> dict[str, str]:
    text = (CONTENT / lang / f"{lesson}.md").read_text(encoding="utf-8")
    parts = SECTION.split(text)
    out = {"intro": parts[0].strip()}
    out.update({name: body.strip() for name, body in zip(parts[1::2], parts[2::2], strict=True)})
    return out


def show(lesson: str, section: str = "intro", lang: str | None = None) -> None:
    """Render one section: markdown, with each $$…$$ block as st.latex."""
    for i, chunk in enumerate(sections(lesson, lang)[section].split("$$")):
        if i % 2:
            st.latex(chunk.strip())
        elif chunk.strip():
            st.markdown(chunk.strip())
