"""Deep-Net Training Lab: navigation, page config and the shared sidebar; nothing else."""

import streamlit as st

from core.device import describe
from ui.live import start_up
from ui.nav import mark_entrypoint, resume_deep_link

st.set_page_config(page_title="Deep-Net Training Lab", layout="wide")
mark_entrypoint()
start_up()

PAGES = [
    st.Page("pages/home.py", title="Home", default=True),
    st.Page("pages/vanishing.py", title="Vanishing & exploding gradients", url_path="vanishing"),
    st.Page("pages/activations.py", title="Activation functions", url_path="activations"),
    st.Page("pages/batchnorm.py", title="Batch normalization", url_path="batchnorm"),
    st.Page("pages/transfer.py", title="Transfer learning", url_path="transfer"),
    st.Page("pages/optimizers.py", title="Fast optimizers", url_path="optimizers"),
]
page = st.navigation(PAGES)
resume_deep_link()
st.sidebar.caption(f"Device: {describe()}. Runs pick CUDA only when they are big enough to gain from it.")
page.run()
