"""Train: a form for one run, its exact command and measured estimate, Launch, and every active run, live."""

import streamlit as st

from app.active_runs import active_runs
from app.launch_panel import draw_estimate, draw_launch
from app.train_form import draw_form
from app.ui import shown_errors, store_or_stop

st.title("Train")
st.caption(
    "Pick a shipped config, change what you like, check the command and the estimate, then launch. Runs train in "
    "their own processes: closing this tab or stopping the app leaves them running."
)
store = store_or_stop()
form_col, side_col = st.columns([3, 2], gap="large")
form = None
with form_col, shown_errors("The form could not be drawn"):
    form = draw_form()
with side_col:
    if form is not None:
        draw_launch(store, form)
        draw_estimate(form)
st.subheader("Active runs")
active_runs()
