"""The Korean edition: no interface string, prose section or placeholder may fall behind English."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from core import config, i18n
from core.engine import TrainConfig
from core.experiments import LESSONS, experiments
from core.messages import messages
from ui import lesson as prose

ROOT = Path(__file__).resolve().parent.parent
LANGS = [code for code in i18n.LANGUAGES if code != i18n.DEFAULT]
HANGUL = re.compile(r"[\uac00-\ud7a3]")


@pytest.fixture(scope="module")
def all_messages() -> dict[str, list[str]]:
    return messages()


def test_the_catalogs_are_read_with_babel_from_gettext_po_files():
    for lang in LANGS:
        path = ROOT / "locales" / lang / "LC_MESSAGES" / "messages.po"
        assert path.is_file()
        from babel.messages.pofile import read_po

        with path.open("rb") as fh:
            lab = {m.id: m.string for m in read_po(fh) if m.id and m.string}
        found = i18n.catalog(lang)
        assert {k: found.get(k) for k in lab} == lab
        # the rest comes from the catalogs of lessons kept outside the tree (the toy lesson's, in the tests)
        outside = set()
        for lesson in LESSONS:
            own = lesson.home / "locales" / lang / "LC_MESSAGES" / "messages.po" if lesson.home else None
            if own is not None and own.is_file():
                with own.open("rb") as fh:
                    outside |= {m.id for m in read_po(fh) if m.id and m.string}
        assert set(found) - set(lab) == outside - set(lab)


@pytest.mark.parametrize("lang", LANGS)
def test_every_interface_string_has_a_translation(lang, all_messages):
    assert len(all_messages) > 300  # the extraction found the lab's strings (not an empty scan)
    lacking = [f"{msg!r} ({where[0]})" for msg, where in all_messages.items() if msg not in i18n.catalog(lang)]
    assert not lacking, "untranslated (run `python -m core.messages`, then translate):\n" + "\n".join(lacking)


@pytest.mark.parametrize("lang", LANGS)
def test_no_translation_loses_or_invents_a_placeholder(lang, all_messages):
    found = i18n.catalog(lang)
    bad = [msg for msg in all_messages if msg in found and i18n.placeholders(msg) != i18n.placeholders(found[msg])]
    assert not bad


@pytest.mark.parametrize("lang", LANGS)
def test_every_template_formats_in_every_language(lang, all_messages):
    """A translation must format with the values its English source takes (same names, usable specs)."""
    found = i18n.catalog(lang)
    for msg in all_messages:
        if not i18n.placeholders(msg):
            continue
        values = {name: 1234.5 for name in i18n.placeholders(msg)}
        try:
            msg.format(**values)
        except (ValueError, TypeError):  # a text spec ({x:s}) cannot take a number: skip, as English does
            continue
        found[msg].format(**values)


@pytest.mark.parametrize("lang", LANGS)
def test_korean_is_korean(lang, all_messages):
    """A translation that is the English copied over is not a translation (identifiers and symbols aside)."""
    found = i18n.catalog(lang)
    words = [msg for msg in all_messages if len(re.findall(r"[A-Za-z]{3,}", msg)) >= 3]
    copied = [msg for msg in words if not HANGUL.search(found[msg])]
    assert not copied


def _sections(name: str, lang: str) -> dict[str, str]:
    return prose.sections(name, lang)


@pytest.mark.parametrize("lang", LANGS)
@pytest.mark.parametrize("name", ["home", *(lesson.name for lesson in LESSONS)])
def test_every_prose_section_has_its_translation(lang, name):
    assert prose.prose_file(name, lang).is_file(), f"{prose.prose_file(name, lang)} is missing"
    en, other = _sections(name, "en"), _sections(name, lang)
    assert list(en) == list(other)  # the same sections, in the same order
    for section, text in en.items():
        assert other[section].count("$$") == text.count("$$"), section  # the same formulas
        assert HANGUL.search(other[section]), section
        assert set(re.findall(r"`[^`]+`", text)) >= set(re.findall(r"`[^`]+`", other[section])), section


def test_every_lesson_and_claim_has_korean_prose():
    for lesson in LESSONS:
        for lang in LANGS:
            sections = _sections(lesson.name, lang)
            for experiment in lesson.experiments:
                for claim in experiment.claims:
                    assert HANGUL.search(sections.get(f"claim-{claim.id}", "")), (lang, claim.id)


# The code: strings are marked where they are written, and templates are never f-strings.

SOURCES = [*sorted((ROOT / "pages").glob("*.py")), *sorted((ROOT / "ui").glob("*.py")),
           *sorted((ROOT / "core").rglob("*.py")), ROOT / "lab.py"]
ELEMENTS = {"title", "header", "subheader", "caption", "info", "warning", "error", "success", "button",
            "download_button", "toggle", "checkbox", "selectbox", "multiselect", "slider", "number_input",
            "text_input", "expander", "tabs", "radio", "select_slider", "file_uploader", "page_link", "toast",
            "metric", "form_submit_button", "link_button", "write", "markdown", "text", "spinner", "status"}
WORDS = re.compile(r"[A-Za-z]{2,}\s+[A-Za-z]{2,}")


def _literal_text(node) -> bool:
    """A string literal or f-string with English words in it, bare or through plain()."""
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "plain" and node.args:
        return _literal_text(node.args[0])
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return bool(WORDS.search(node.value))
    if isinstance(node, ast.JoinedStr):
        return any(isinstance(v, ast.Constant) and WORDS.search(v.value) for v in node.values)
    if isinstance(node, ast.List):
        return any(_literal_text(e) for e in node.elts)
    return False


def test_no_streamlit_element_shows_an_unmarked_sentence():
    """A sentence written straight into st.title, st.button(..., help=...) and the like cannot be
    translated: it must go through _()."""
    found = []
    for path in SOURCES:
        if "core" in path.parts:
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                    and node.func.attr in ELEMENTS):
                continue
            shown = node.args[:1] + [k.value for k in node.keywords if k.arg in ("label", "help", "placeholder",
                                                                                   "text", "caption")]
            if any(_literal_text(arg) for arg in shown):
                found.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    assert not found


def test_no_template_is_an_f_string():
    """_() of an f-string looks up a string that differs on every call: it is never translated."""
    found = []
    for path in SOURCES:
        for node in ast.walk(ast.parse(path.read_text())):
            if (isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in ("_", "N_")
                    and node.args and isinstance(node.args[0], ast.JoinedStr)):
                found.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    assert not found


def test_every_field_has_a_translated_label_and_help(all_messages):
    from core.messages import config_classes

    for lang in LANGS:
        with i18n.using(lang):
            for cls in config_classes():
                for f in config.specs(cls):
                    shown = config.label(f)  # Korean, or a symbol that needs none (β₁, ε, "LeakyReLU α")
                    assert HANGUL.search(shown) or re.fullmatch(r"[A-Za-z]*\s?[α-ω][₀-₉]?", shown), \
                        (cls.__name__, f.name, shown)
                    assert config.help_text(f) != f.metadata["help"] or not WORDS.search(f.metadata["help"]), \
                        (cls.__name__, f.name)


# The mechanism: one language per context; the CLI and other threads stay English.

def test_a_language_holds_only_inside_its_context():
    steps = next(f for f in config.specs(TrainConfig) if f.name == "steps")
    with i18n.using("ko"):
        with pytest.raises(config.ConfigError) as err:
            config.parse(steps, "3.5")
        assert "정수" in err.value.message and "'3.5'" in err.value.message
    with pytest.raises(config.ConfigError, match="must be a whole number between 1 and 100000"):
        config.parse(steps, "3.5")
    assert i18n.language() == i18n.DEFAULT


def test_an_unknown_language_is_english():
    with i18n.using("xx"):
        assert i18n.language() == "en" and i18n._("Train") == "Train"


def test_a_claims_evidence_comes_in_the_readers_language():
    exp = experiments()["vanishing"]
    claim = next(c for c in exp.claims if c.id == "relu-he-level")
    records = list(exp.run(exp.configure(claim.preset, steps=2, probe_every=1, eval_every=1)))
    english = claim.check(records)
    with i18n.using("ko"):
        korean = claim.check(records)
    assert english.holds == korean.holds
    assert "gradient norm" in english.evidence and HANGUL.search(korean.evidence)
    numbers = re.findall(r"\d[\d.e+-]*", english.evidence)
    assert numbers and all(n in korean.evidence for n in numbers)  # the same measurements, other words


def test_the_cli_stays_english(capsys):
    from core.__main__ import main

    assert main(["run", "vanishing", "--steps", "3.5", "--out", "-"]) == 2
    assert "must be a whole number" in capsys.readouterr().err
