"""Home: a map of the lab."""

import streamlit as st

from ui import lesson, nav

nav.ensure_entrypoint("pages/home.py")

st.title("Deep-Net Training Lab")
lesson.show("home")
