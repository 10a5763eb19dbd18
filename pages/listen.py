"""Listen & classify: the Gradio tab (augmented pairs, classification), embedded; it also works alone at /gradio/."""

import streamlit as st

st.title("Listen & classify")
st.caption(
    "Hear an augmented pair of any clip, and classify a clip with a shipped model or one of your runs. The same "
    "tab works on its own at [/gradio/](/gradio/), and every function is an API for `gradio_client`."
)
st.iframe("/gradio/", height=2200)
