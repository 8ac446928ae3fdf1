"""Deep-Net Training Lab: navigation, page config and the shared sidebar; nothing else.

app.py serves this script (and warms the server up first); AppTest and `streamlit run lab.py` run it directly.

The pages come from the registry (core.experiments.LESSONS), so a new lesson appears here by itself.
"""

import streamlit as st

from core.i18n import _
from ui import i18n
from ui.nav import ROOT, first_paint, lesson_pages, mark_entrypoint, resume_deep_link  # ui.nav: no torch

st.set_page_config(page_title="Deep-Net Training Lab", layout="wide")
i18n.choose()  # the language of everything below: ?lang=ko, the session's choice, else the browser's
st.set_page_config(page_title=_("Deep-Net Training Lab"))
first_paint()  # before torch is imported: a fresh server shows no file-name navigation meanwhile

from core.device import describe  # noqa: E402 — imports torch (seconds on a cold server)
from ui import desk, display  # noqa: E402 — display: altair
from ui.admission import start_up  # noqa: E402
from ui.errors import guarded  # noqa: E402

mark_entrypoint()
start_up()
desk.attach()  # the browser's run history and last results, kept on the server: a reload finds them

page = st.navigation([st.Page(str(ROOT / "pages" / "home.py"), title=_("Home"), default=True), *lesson_pages(),
                      st.Page(str(ROOT / "pages" / "runs.py"), title=_("Runs"), url_path="runs")])
resume_deep_link()
display.controls()  # log loss axes and smoothing, for every page's curves
st.sidebar.caption(_("Device: {device}. Runs pick CUDA only when they are big enough to gain from it.").format(
    device=describe()))
guarded(page.run)
