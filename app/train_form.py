"""The Train page's form.

One widget per field of :mod:`app.form`, each starting at the shipped config's value, and ``core``'s validation
message shown at the field it names.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import streamlit as st

from app.form import INPUTS, Field, config_path, fields, initial_values, overrides, shipped_configs
from core.config import TrainConfig, load_config
from core.data import family, find_root
from core.errors import ClarError
from core.models.factory import ENCODER_INPUT
from core.train.launcher import available_devices, validate_overrides

GROUPS = (
    ("Data", ("dataset", "root", "task", "version", "test_fold", "test_group", "label_fraction")),
    ("Model", ("regime", "input", "encoder", "aug_mode", "aug_set", "aug_pick", "aug_p")),
    ("Training", ("epochs", "batch_size", "lr", "temperature", "seed", "name")),
)


@dataclass
class FormResult:
    """What the form says: the run to launch, or why it cannot be launched yet.

    Attributes:
        base: the starting config's name.
        overrides: the form's ``key=value`` changes to it.
        device: the device chosen (``cpu``, ``cuda:N``, ``mps``; ``cuda`` for all GPUs).
        gpus: GPUs for a data-parallel run (1 otherwise).
        config: the validated configuration, or None.
        errors: one line per problem (already shown at their fields).
    """

    base: str
    overrides: list[str]
    device: str
    gpus: int
    config: TrainConfig | None
    errors: list[str]


@st.cache_data(show_spinner=False)
def _load_base(name: str) -> dict[str, Any]:
    return load_config(config_path(name)).to_dict()


@st.cache_data(ttl=30, show_spinner=False)
def _found(name: str) -> str | None:
    """None if the dataset is found, else the one-line reason (with the download command)."""
    if family(name).needs_root:
        return None
    try:
        find_root(name)
        return None
    except ClarError as e:
        return " ".join(str(e).split())


@st.cache_resource(show_spinner=False)
def _devices() -> list[str]:
    devices = available_devices()
    gpus = sum(d.startswith("cuda:") for d in devices)
    return devices + ([f"all {gpus} GPUs"] if gpus > 1 else [])


def _label(f: Field, choice: Any) -> str:
    if choice is None:
        return "default"
    if f.name == "dataset":
        fam = family(choice)
        missing = "" if fam.needs_root or _found(choice) is None else "  (not found)"
        return f"{choice}: {fam.description}{missing}"
    if f.name == "input":
        return INPUTS[choice]
    return str(choice)


def _widget(f: Field, key: str, value: Any) -> Any:
    """Draw one field; its state lives under ``key`` (set here first to the config's value)."""
    choices = list(f.choices)
    if f.kind in ("select", "radio") and st.session_state.get(key, value) not in choices:
        st.session_state[key] = value if value in choices else choices[0]
    if f.kind == "multiselect":
        st.session_state[key] = [c for c in st.session_state.get(key, value) if c in choices]
    st.session_state.setdefault(key, value)
    tip = f.help or None
    if f.kind == "select":
        return st.selectbox(f.label, choices, key=key, help=tip, format_func=lambda c: _label(f, c))
    if f.kind == "radio":
        return st.radio(f.label, choices, key=key, help=tip, format_func=lambda c: _label(f, c), horizontal=True)
    if f.kind == "multiselect":
        return st.multiselect(f.label, choices, key=key, help=tip)
    if f.kind == "int":
        return int(st.number_input(f.label, step=1, key=key, help=tip))
    if f.kind in ("float", "fraction"):
        return float(
            st.number_input(f.label, step=0.05 if f.kind == "fraction" else None, format="%g", key=key, help=tip)
        )
    return st.text_input(f.label, key=key, help=tip)


def draw_form(prefix: str = "train") -> FormResult:
    """Draw the form (a config picker, then the fields in three columns, then the device); return what it says."""
    names = shipped_configs()
    base = st.selectbox(
        "Start from a shipped config", names, key=f"{prefix}:base", help="every field starts at this config's value"
    )
    base_cfg = TrainConfig.from_dict(_load_base(base), str(config_path(base)))
    values = initial_values(base_cfg)
    key_of = {name: f"{prefix}:{base}:{name}" for name in values}
    for name, key in key_of.items():  # what the user has changed so far (fields depend on it)
        if key in st.session_state:
            values[name] = st.session_state[key]
    if ENCODER_INPUT.get(values["encoder"]) != values["input"]:  # the input kind changed: the matching encoder
        twin = values["encoder"].rsplit("_", 1)[0] + ("_1d" if values["input"] == "waveform" else "_2d")
        values["encoder"] = twin if ENCODER_INPUT.get(twin) == values["input"] else values["encoder"]
        st.session_state[key_of["encoder"]] = values["encoder"]
    shown = fields(values)
    slots: dict[str, Any] = {}
    columns = st.columns(3)
    for (title, members), column in zip(GROUPS, columns, strict=True):
        with column:
            st.markdown(f"**{title}**")
            for f in shown:
                if f.name in members:
                    values[f.name] = _widget(f, key_of[f.name], values[f.name])
                    if f.key:
                        slots[f.key] = st.empty()
    devices = _devices()
    configured = base_cfg.runtime.device
    default = configured if configured in devices else ("cuda:0" if "cuda:0" in devices else "cpu")
    device = st.selectbox(
        "Device",
        devices,
        index=devices.index(default),
        key=f"{prefix}:device",
        help="only the devices present on this machine",
    )
    gpus = int(device.split()[1]) if device.startswith("all ") else 1
    device = "cuda" if gpus > 1 else device
    changes = overrides(base_cfg, values)
    config, bad_key, message = validate_overrides(base, changes)
    errors = []
    if message:
        text = message.removeprefix("--set: ")
        (slots[bad_key].error if bad_key in slots else st.error)(text, icon=":material/error:")
        errors.append(text)
    missing = _found(values["dataset"])
    if missing:
        slots["data.dataset"].error(f"{missing} (the Data page can download it)", icon=":material/folder_off:")
        errors.append(missing)
    return FormResult(base, changes, device, gpus, config, errors)
