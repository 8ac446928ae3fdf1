"""The toy lesson's page: the generic one, drawn from its declaration."""

from ui import nav  # light: no torch

nav.ensure_entrypoint("tests/toy/toy.py")  # first: a fresh server's deep link hands over at once

from tests.toy_lesson import LESSON  # noqa: E402
from ui.page import render_lesson  # noqa: E402

render_lesson(LESSON)
