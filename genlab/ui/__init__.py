"""The only Streamlit code inside genlab: cached loaders and shared widgets for the pages."""
