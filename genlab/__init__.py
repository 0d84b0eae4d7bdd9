"""GenLab: an interactive laboratory for the latent spaces of small generative models.

The core library (everything but genlab.ui) never imports streamlit.
"""
__version__ = "0.1.0"
