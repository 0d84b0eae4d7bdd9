"""GenLab: an interactive laboratory for the latent spaces of small generative models.

The core library (everything but genlab.ui) never imports streamlit.
"""
import os as _os

# GenLab shares two cores between the app's sessions, a browser and training jobs. Spinning OpenMP
# threads then starve each other: one latent point's view took 280 ms instead of 8 ms while another
# process used a core, and batched map inference was slower too. Waiting threads that sleep avoid
# this; the variable must be set before torch loads OpenMP, and an explicit setting wins.
_os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

__version__ = "0.1.0"
