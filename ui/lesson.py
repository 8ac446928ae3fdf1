"""Lesson prose from content/<lang>/<lesson>.md (or a lesson's own folder): sections, with $$…$$ blocks drawn
by st.latex."""

from __future__ import annotations

import functools
import re
from pathlib import Path

import streamlit as st

from core.experiment import CONTENT
from core.i18n import DEFAULT, _, language

SECTION = re.compile(r"^<!--\s*section:\s*([\w-]+)\s*-->\s*$", re.M)


def prose_file(lesson: str, lang: str) -> Path:
    """Where a lesson's prose in `lang` is: its own folder's (Lesson.home), else content/<lang>/<lesson>.md."""
    from core.experiments import LESSONS

    found = next((x for x in LESSONS if x.name == lesson), None)
    return found.prose(lang) if found is not None else CONTENT / lang / f"{lesson}.md"


def sections(lesson: str, lang: str | None = None) -> dict[str, str]:
    """A lesson's markdown in `lang` (default: the current language), split at `<!-- section: name -->`
    markers (text before one is 'intro'). A language without this lesson's file falls back to English."""
    lang = lang or language()
    return _sections(prose_file(lesson, lang if prose_file(lesson, lang).is_file() else DEFAULT))


@functools.cache
def _sections(path: Path) -> dict[str, str]:
    text = path.read_text(encoding="utf-8")
    parts = SECTION.split(text)
    out = {"intro": parts[0].strip()}
    out.update({name: body.strip() for name, body in zip(parts[1::2], parts[2::2], strict=True)})
    return out


def show(lesson: str, section: str = "intro", lang: str | None = None) -> None:
    """Render one section: markdown, with each $$…$$ block as st.latex."""
    _render(sections(lesson, lang)[section])


def _paragraphs(text: str) -> list[str]:
    return [p for p in re.split(r"\n\s*\n", text) if p.strip()]


def lead(lesson: str, section: str = "intro", title: str | None = None, then: tuple[str, ...] = ()) -> None:
    """A section's first paragraph, and the rest (and the sections `then`) folded into one expander, so
    the controls and Train are on the first screen."""
    first, *rest = _paragraphs(sections(lesson)[section]) or [""]
    if "$$" in first:  # a formula block in the lead: show the section whole
        show(lesson, section)
        first, rest = "", []
    else:
        st.markdown(first.strip())
    rest += [sections(lesson)[s] for s in then]
    if rest:
        with st.expander(title or _("Read the whole introduction")):
            _render("\n\n".join(rest))


def folded(lesson: str, section: str, title: str, expanded: bool = False) -> None:
    """A whole section inside an expander."""
    with st.expander(title, expanded=expanded):
        show(lesson, section)


def _render(text: str) -> None:
    for i, chunk in enumerate(text.split("$$")):
        if i % 2:
            st.latex(chunk.strip())
        elif chunk.strip():
            st.markdown(chunk.strip())
