"""A clip uploaded to a Streamlit page, decoded and checked by ``core`` like every other upload.

The bytes go to a private temporary file only for as long as ``core`` reads them; an error names the file as the
user knows it (never the temporary folder) and says what is wrong with it.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

import torch

from app.settings import UPLOAD_LIMIT_MB
from core.audio import MAX_SECONDS, check_audible, load_audio
from core.errors import AudioLoadError

UPLOAD_HINT = f"up to {UPLOAD_LIMIT_MB} MB and {MAX_SECONDS / 60:g} minutes; WAV, FLAC, OGG or MP3"
"""What the upload box says it accepts."""


def clip_from_upload(uploaded: Any) -> torch.Tensor:
    """The clip of a ``st.file_uploader`` file as 16 kHz mono [T].

    Raises:
        AudioLoadError: one line naming the file: too large, not audio, empty, corrupt, too long, NaN, silent.
    """
    name = Path(str(getattr(uploaded, "name", "upload"))).name or "upload"
    size = int(getattr(uploaded, "size", 0) or 0)
    if size > UPLOAD_LIMIT_MB * 1024**2:
        raise AudioLoadError(name, f"{size / 1024**2:.1f} MB is over the {UPLOAD_LIMIT_MB} MB upload limit")
    suffix = Path(name).suffix[:16]
    with tempfile.TemporaryDirectory(prefix="clar-upload-") as tmp:
        path = Path(tmp) / f"clip{suffix}"
        path.write_bytes(uploaded.getvalue())
        try:
            wave = load_audio(path)
            check_audible(wave, name)
        except AudioLoadError as e:
            raise AudioLoadError(name, e.problem.replace(str(path.resolve()), name).replace(str(path), name)) from None
    return wave
