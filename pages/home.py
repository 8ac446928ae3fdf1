"""Home: a map of the lab, one entry per registered lesson."""

import streamlit as st

from core.i18n import _
from ui import nav  # light: no torch

nav.ensure_entrypoint("pages/home.py")  # first: a fresh server's deep link hands over at once

from core.experiments import LESSONS  # noqa: E402
from ui import lesson, nav  # noqa: E402

st.title(_("Deep-Net Training Lab"))
lesson.show("home")
for item in LESSONS:
    st.page_link(nav.page_of(item.name), label=f"**{_(item.title)}**")  # a title of our own, translated
    st.caption(_(item.summary))
lesson.show("home", "offline")
