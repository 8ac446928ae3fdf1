"""Lesson prose from content/<lang>/<lesson>.md: sections, with $$…$$ blocks drawn by st.latex."""

from __future__ import annotations

import functools
import re
from pathlib import Path

import streamlit as st

CONTENT = Path(__file__).resolve().parent.parent / "content"
SECTION = re.compile(r"^<!--\s*section:\s*([\w-]+)\s*-->\s*$", re.M)


@functools.cache
def sections(lesson: str, lang: str = "en") -> dict[str, str]:
    """A lesson's markdown split at `<!-- section: name -->` markers (text before one is 'intro')."""
    text = (CONTENT / lang / f"{lesson}.md").read_text(encoding="utf-8")
    parts = SECTION.split(text)
    out = {"intro": parts[0].strip()}
    out.update({name: body.strip() for name, body in zip(parts[1::2], parts[2::2], strict=True)})
    return out


def show(lesson: str, section: str = "intro", lang: str = "en") -> None:
    """Render one section: markdown, with each $$…$$ block as st.latex."""
    for i, chunk in enumerate(sections(lesson, lang)[section].split("$$")):
        if i % 2:
            st.latex(chunk.strip())
        elif chunk.strip():
            st.markdown(chunk.strip())
