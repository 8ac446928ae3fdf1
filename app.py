"""Deep-Net Training Lab's server. `streamlit run app.py` serves lab.py (navigation and pages).

Streamlit runs the st.App below under uvicorn, whose start-up runs ui.server.lifespan before the
first connection: torch is imported and warmed up before anyone visits. `streamlit run lab.py` and
AppTest run the same pages without it (the warm-up then starts with the first visit).
"""

import streamlit as st

from ui.server import lifespan

app = st.App("lab.py", lifespan=lifespan)
