"""MNIST Studio dashboard (placeholder until the dashboard pages land)."""

import streamlit as st

st.set_page_config(page_title="MNIST Studio", page_icon="✏️")
st.title("MNIST Studio")
st.write("Train a digit classifier, draw digits for it, export it as a web page.")
