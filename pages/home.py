"""Home: a map of the lab, one entry per registered lesson."""

import streamlit as st

from core.experiments import LESSONS
from ui import lesson, nav

nav.ensure_entrypoint("pages/home.py")

st.title("Deep-Net Training Lab")
lesson.show("home")
for item in LESSONS:
    st.page_link(nav.PAGES[item.name], label=f"**{item.title}**")
    st.caption(item.summary)
lesson.show("home", "offline")
