"""Deep-Net Training Lab: navigation, page config and the shared sidebar; nothing else.

app.py serves this script (and warms the server up first); AppTest and `streamlit run lab.py` run it directly.

The pages come from the registry (core.experiments.LESSONS), so a new lesson appears here by itself.
"""

import streamlit as st

from ui.nav import ROOT, first_paint, lesson_pages, mark_entrypoint, resume_deep_link  # ui.nav: no torch

st.set_page_config(page_title="Deep-Net Training Lab", layout="wide")
first_paint()  # before torch is imported: a fresh server shows no file-name navigation meanwhile

from core.device import describe  # noqa: E402 — imports torch (seconds on a cold server)
from ui.admission import start_up  # noqa: E402
from ui.errors import guarded  # noqa: E402

mark_entrypoint()
start_up()

page = st.navigation([st.Page(str(ROOT / "pages" / "home.py"), title="Home", default=True), *lesson_pages(),
                      st.Page(str(ROOT / "pages" / "runs.py"), title="Runs", url_path="runs")])
resume_deep_link()
st.sidebar.caption(f"Device: {describe()}. Runs pick CUDA only when they are big enough to gain from it.")
guarded(page.run)
