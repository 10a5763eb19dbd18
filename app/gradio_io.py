"""What the Gradio callbacks share: one-line errors, reading an uploaded clip, and clips ready for players.

Every failure of a callback becomes a ``gr.Error`` with one readable line (the same text in the page and for an
API client); the app keeps serving. Uploads are read by ``core.audio.load_audio`` (bounded: at most 10 minutes,
16 kHz mono out) from Gradio's temporary upload folder, and nothing is written anywhere else.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, TypeVar

import gradio as gr
import numpy as np
import torch

from app.settings import UPLOAD_LIMIT_MB
from core import SAMPLE_RATE
from core.audio import check_audible, load_audio
from core.errors import AudioLoadError, ClarError

log = logging.getLogger(__name__)
F = TypeVar("F", bound=Callable[..., Any])
UPLOAD_LIMIT = f"{UPLOAD_LIMIT_MB}mb"
"""The largest upload Gradio accepts (a larger one is refused before it is stored)."""


def _line(e: BaseException) -> str:
    return " ".join(str(e).split()) or type(e).__name__


def gradio_errors(fn: F) -> F:
    """Turn any failure of ``fn`` into a one-line ``gr.Error`` (the traceback of a bug goes to the server log)."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except gr.Error:
            raise
        except (ClarError, OSError, ValueError) as e:
            raise gr.Error(_line(e), print_exception=False) from None
        except Exception as e:
            log.exception("%s failed", fn.__name__)
            raise gr.Error(f"{fn.__name__} failed unexpectedly ({type(e).__name__}: {_line(e)})") from None

    return wrapper  # type: ignore[return-value]


def clip_from_upload(path: str | None) -> torch.Tensor:
    """The clip at ``path`` (an upload, a recording or a picked clip) as 16 kHz mono [T].

    Raises:
        gr.Error: no clip, or one line naming the file (by its own name, not the temporary folder) and the problem:
            not audio, empty, corrupt or lying header, over 10 minutes, NaN samples, silence.
    """
    if not path:
        raise gr.Error("No clip: upload a file, record one, or pick one from a dataset")
    name = Path(path).name
    try:
        wave = load_audio(path)
        check_audible(wave, name)
    except AudioLoadError as e:  # name the file as the user knows it, never by Gradio's temporary folder
        problem = e.problem.replace(str(Path(path).resolve()), name).replace(str(path), name)
        raise gr.Error(f"{name}: {problem}", print_exception=False) from None
    return wave


def as_players(waves: Sequence[torch.Tensor]) -> list[tuple[int, np.ndarray]]:
    """16-bit clips for audio players, all scaled by one gain so that their loudness compares as it is.

    The gain only ever lowers the level (to keep the loudest peak at most 1); it is 1 for clips already within it.
    """
    peak = max(float(torch.as_tensor(w).abs().max()) for w in waves)
    gain = 1.0 / peak if peak > 1.0 else 1.0
    return [(SAMPLE_RATE, np.round(np.asarray(w, dtype=np.float32) * gain * 32767).astype(np.int16)) for w in waves]
