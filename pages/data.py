"""Data: which datasets this server has, the download commands for the others, the demo, and your own folders."""

import streamlit as st

from app import jobs
from app.datasets import (
    add_user_dataset,
    cached_builtin_states,
    check_user_dataset,
    remove_user_dataset,
    user_datasets,
)
from app.navigation import pages
from app.settings import data_dir
from app.ui import one_line, shown_errors, store_or_stop
from core.data import family

st.title("Data")
st.caption(
    f"Datasets are looked for in `{data_dir()}` (from `--data-dir`, else `$CLAR_DATA_DIR`, else `./data`). "
    "Nothing is downloaded unless you ask for it here or run the command yourself."
)
store = store_or_stop()


def _download(name: str, command: str) -> None:
    target = family(name).download
    key = f"download:{target}"

    def work(job: jobs.Job) -> str:
        jobs.run_command(job, jobs.core_command("data", "download", target, "--root", str(data_dir())), 6 * 3600)
        return f"{target} downloaded and verified into {data_dir()}"

    jobs.submit(key, f"download {target}", work)
    cached_builtin_states.clear()


@st.fragment(run_every=1.0)
def _download_state(name: str) -> None:
    job = jobs.get(f"download:{family(name).download}")
    if job is None:
        return
    if job.running:
        st.progress(job.progress or 0.0, text=f"Downloading {family(name).download}… {job.seconds:.0f} s")
    elif job.error:
        st.error(f"Download failed: {job.error}", icon=":material/cloud_off:")
    else:
        st.success(job.result, icon=":material/cloud_done:")
        cached_builtin_states.clear()


def _train_on(dataset: str, root: str | None) -> None:
    base = st.session_state.get("train:base", "demo")
    st.session_state[f"train:{base}:dataset"] = dataset
    if root:
        st.session_state[f"train:{base}:root"] = root
    st.switch_page(pages()["train"])


st.subheader("Datasets")
found = 0
for state in cached_builtin_states():
    with st.container(border=True, key=f"dataset-{state.name}"):
        head, action = st.columns([5, 1])
        head.markdown(f"**{state.name}** · {state.description}")
        if state.problem is None:
            found += 1
            head.caption(f":material/check_circle: {state.clips} clips, {state.classes} classes, in `{state.root}`")
            if action.button("Train on it", key=f"train-{state.name}", icon=":material/play_circle:"):
                _train_on(state.name, None)
        else:
            head.caption(f":material/folder_off: {state.problem}")
            if state.download:
                head.code(state.download, language="bash")
                running = (job := jobs.get(f"download:{family(state.name).download}")) is not None and job.running
                if action.button(
                    "Download", key=f"download-{state.name}", icon=":material/download:", disabled=running
                ):
                    _download(state.name, state.download)
                    st.rerun()
                _download_state(state.name)
if found <= 1:
    st.info(
        "No recorded dataset was found here. The **demo** dataset (synthetic sounds, generated on this machine) "
        "works without any download: start from the `demo` config on the Train page.",
        icon=":material/info:",
    )

with st.expander("Listen to the demo dataset (synthetic sounds, not recordings)"), shown_errors("The demo dataset"):
    from core.audio import load_audio
    from core.data import list_clips

    clips = list_clips("demo")
    for k, name in enumerate(clips.class_names):
        first = next(p for p, y in zip(clips.paths, clips.labels, strict=True) if y == k)
        st.caption(f"**{name}**: {clips.meta['class_descriptions'][name]}")
        st.audio(load_audio(first).numpy(), sample_rate=16000)

st.subheader("Your datasets")
st.caption(
    "A **folder** holds one subfolder of audio files per class; a **CSV** lists `path,label[,split]` rows. They are "
    "kept in the run store, so every tab and every restart of the app sees them."
)
for entry in user_datasets(store):
    with st.container(border=True, key=f"user-{entry['root']}"):
        head, train, drop = st.columns([4, 1, 1])
        head.markdown(f"**{entry['kind']}** `{entry['root']}`")
        try:
            state = check_user_dataset(entry["kind"], entry["root"])
            head.caption(f":material/check_circle: {state.clips} clips, {state.classes} classes")
            if train.button("Train on it", key=f"train-user-{entry['root']}", icon=":material/play_circle:"):
                _train_on(entry["kind"], entry["root"])
        except Exception as e:
            head.caption(f":material/error: {one_line(e)}")
        if drop.button("Remove", key=f"remove-{entry['root']}", icon=":material/remove_circle:"):
            remove_user_dataset(store, entry["kind"], entry["root"])
            st.rerun()
with st.form("add-dataset", clear_on_submit=False, border=True):
    kind = st.radio("Layout", ["folder", "csv"], horizontal=True, key="data:kind")
    root = st.text_input("Location on the server", key="data:root", placeholder="/path/to/my_sounds")
    if st.form_submit_button("Add", icon=":material/add:") and root.strip():
        with shown_errors(f"{root.strip()} cannot be used"):
            state = add_user_dataset(store, kind, root.strip())
            st.success(f"Added: {state.clips} clips in {state.classes} classes.")
