"""Streamlit Community Cloud's entrypoint: deploy with "Main file path" set to deploy/streamlit_app.py.

Community Cloud installs the requirements file that sits next to the main file before the one at
the repository's root, so this folder's requirements.txt (torch and torchvision from PyTorch's
CPU-only wheel index) is what a deployment installs, while `pip install -r requirements.txt` at the
root keeps working on a machine that reaches only PyPI. This file is app.py's st.App again (the
same lab.py, warmed up at server start), with the repository's root on the import path.
"""

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import streamlit as st  # noqa: E402

from ui.server import lifespan  # noqa: E402

app = st.App(str(ROOT / "lab.py"), lifespan=lifespan)
