"""GenLab's server: `streamlit run app.py` serves the Streamlit app (main.py: the router and its pages) and,
beside it, the live drags' HTTP routes (genlab/api.py: GET /genlab/api/point and /genlab/api/morph); with GENLAB_POINT_PROCESSES
set, its worker processes start here, so the first drag does not wait for them.

Streamlit finds the `app` below and runs it as an ASGI application (st.App), with the same command-line
flags and .streamlit/config.toml as a plain script. Tests that run pages in-process (AppTest) use main.py.
"""
import streamlit as st

from genlab.api import ROUTES, start_workers
from genlab.http_limits import install as install_http_limits

# a link too long for the HTTP parser gets a page that says so (genlab/http_limits.py), not a plain 400
install_http_limits()

start_workers()
app = st.App("main.py", routes=ROUTES)
