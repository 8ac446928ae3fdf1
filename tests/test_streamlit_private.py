"""Streamlit's private modules the lab imports, by file: each must still exist in the installed Streamlit.

The requirements bound streamlit to the versions CI ran this test on; a failure here names the file that needs
the symbol, so a new Streamlit release breaks this test instead of a page."""

from __future__ import annotations

import importlib

import pytest

PRIVATE = [
    ("streamlit.runtime", "Runtime", "ui/admission.py"),
    ("streamlit.runtime.pages_manager", "PagesManager", "ui/nav.py, ui/server.py"),
    ("streamlit.elements.vega_charts", "_convert_altair_to_vega_lite_spec", "benchmarks/__main__.py"),
    ("streamlit.elements.vega_charts", "_to_arrow_dataset", "ui/vega.py"),
]


@pytest.mark.parametrize(("module", "symbol", "users"), PRIVATE, ids=[p[1] for p in PRIVATE])
def test_every_private_streamlit_symbol_the_lab_uses_exists(module, symbol, users):
    found = getattr(importlib.import_module(module), symbol, None)
    assert found is not None, f"{module}.{symbol} is gone from this Streamlit; {users} needs it"


def test_the_list_names_every_private_import_in_the_tree():
    import pathlib
    import re

    root = pathlib.Path(__file__).resolve().parents[1]
    used = set()
    for path in [*root.glob("ui/*.py"), *root.glob("core/*.py"), *root.glob("pages/*.py"), *root.glob("*.py"),
                 *root.glob("benchmarks/*.py")]:
        for m in re.finditer(r"from (streamlit\.[\w.]+) import (\w+)", path.read_text()):
            if m.group(1).startswith(("streamlit.runtime", "streamlit.elements")):
                used.add((m.group(1), m.group(2)))
    assert used == {(m, s) for m, s, _users in PRIVATE}
