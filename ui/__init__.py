"""Streamlit pages of drillsim: thin over the engine's API (``sim``); no SimPy here."""
