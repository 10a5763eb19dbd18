"""The HEAR 2021 common API for any CLAR Studio checkpoint, so that hear-eval-kit can score it.

```python
import core.hear as hear
model = hear.load_model("")                        # the shipped ESC-10 model; or a checkpoint file, run folder or id
scene = hear.get_scene_embeddings(audio, model)   # audio [n, samples] at 16 kHz -> [n, 512]
emb, ms = hear.get_timestamp_embeddings(audio, model)   # [n, frames, 512], [n, frames] in milliseconds
```

* **Scene embeddings** are the mean of the representations ``h`` of the clip's windows of the model's input
  length at a half-window hop (the windows ``python -m core classify`` scores), so any length works.
* **Timestamp embeddings** come from the encoder's unpooled time axis. Every encoder here ends in global average
  pooling followed by a linear map (``fc``, or ``proj`` for the ResNets); applying that linear map to each time
  step of the unpooled map (its frequency axis averaged) gives one embedding per step whose mean over time *is*
  ``h``. The whole clip goes through the encoder at once (it is fully convolutional), and each step's timestamp
  is the centre of the stretch of audio it covers, in milliseconds.

Everything runs without gradients on the audio's device, returns float32, and refuses NaN or infinite audio with
a one-line error. Silence and noise give finite embeddings (the features' dB floor).
"""

from __future__ import annotations

from pathlib import Path

import torch
from torch import Tensor, nn

from core import SAMPLE_RATE
from core.errors import ConfigError
from core.inference import load_trained
from core.inference.windows import cut_windows

SHIPPED = Path(__file__).resolve().parents[1] / "checkpoints" / "pretrained" / "esc10" / "model.pt"
"""What an empty ``model_file_path`` loads."""


class HearModel(nn.Module):
    """A checkpoint's front end and encoder, with the attributes the HEAR API asks for.

    Attributes:
        sample_rate: 16000 (Hz).
        scene_embedding_size: the size of a scene embedding (the encoder's ``embed_dim``).
        timestamp_embedding_size: the size of a timestamp embedding (the same).
        window: the model's input length, in samples (scene embeddings average windows of it).
    """

    sample_rate = SAMPLE_RATE

    def __init__(self, frontend: nn.Module, encoder: nn.Module, embed_dim: int, window: int) -> None:
        super().__init__()
        self.frontend, self.encoder = frontend, encoder
        self.scene_embedding_size = self.timestamp_embedding_size = int(embed_dim)
        self.window = int(window)
        pools = [m for m in encoder.modules() if isinstance(m, nn.AdaptiveAvgPool1d | nn.AdaptiveAvgPool2d)]
        head = getattr(encoder, "fc", None) or getattr(encoder, "proj", None)
        if not pools or not isinstance(head, nn.Linear | nn.Identity):
            raise ConfigError(f"{type(encoder).__name__}: no global pooling then linear map to read time steps from")
        self._pool, self._head = pools[-1], head
        self.eval()

    def _check(self, audio: Tensor) -> Tensor:
        if not isinstance(audio, Tensor) or audio.ndim != 2:
            raise ConfigError(f"HEAR audio must be a tensor [n, samples], got {getattr(audio, 'shape', type(audio))}")
        if audio.shape[1] == 0:
            raise ConfigError("HEAR audio has no samples")
        if not torch.isfinite(audio).all():
            raise ConfigError("HEAR audio holds NaN or infinite samples")
        return audio.to(dtype=torch.float32)

    @torch.no_grad()
    def scene(self, audio: Tensor) -> Tensor:
        """[n, D]: the mean of each clip's window embeddings (half-window hop)."""
        audio = self._check(audio)
        out = []
        for clip in audio:
            windows, _ = cut_windows(clip, self.window, max(1, self.window // 2))
            out.append(self.encoder(self.frontend(windows)).mean(dim=0))
        return torch.stack(out).float()

    @torch.no_grad()
    def timestamps(self, audio: Tensor) -> tuple[Tensor, Tensor]:
        """([n, frames, D], [n, frames] in ms): the encoder's unpooled time steps and their centres."""
        audio = self._check(audio)
        n, total = audio.shape
        if total < self.window:  # as in training: shorter clips are padded on the right
            audio = nn.functional.pad(audio, (0, self.window - total))
        seen: dict[str, Tensor] = {}
        hook = self._pool.register_forward_hook(lambda _m, inp, _out: seen.__setitem__("map", inp[0]))
        try:
            self.encoder(self.frontend(audio))
        finally:
            hook.remove()
        fmap = seen["map"]
        if fmap.ndim == 4:  # [n, C, F', T'] -> [n, C, T']
            fmap = fmap.mean(dim=2)
        emb = self._head(fmap.transpose(1, 2)).float()  # [n, T', D]
        steps = emb.shape[1]
        step_ms = audio.shape[1] / steps / SAMPLE_RATE * 1000.0
        centres = (torch.arange(steps, device=emb.device, dtype=torch.float32) + 0.5) * step_ms
        return emb, centres.expand(n, steps).contiguous()


def load_model(model_file_path: str = "") -> HearModel:
    """The HEAR model of a checkpoint file, run folder or run id (empty: the shipped ESC-10 model), on the CPU.

    Raises:
        CheckpointError: the checkpoint cannot be loaded (one line naming it).
    """
    trained = load_trained(model_file_path or SHIPPED, device="cpu")
    encoder = trained.model.encoder
    return HearModel(trained.frontend, encoder, trained.embed_dim, trained.num_samples or SAMPLE_RATE)


def get_scene_embeddings(audio: Tensor, model: HearModel) -> Tensor:
    """Embeddings [n, D] (float32) of clips ``audio`` [n, samples] at 16 kHz, on the model's device."""
    return model.scene(audio)


def get_timestamp_embeddings(audio: Tensor, model: HearModel) -> tuple[Tensor, Tensor]:
    """Timestamp embeddings of clips ``audio`` [n, samples] at 16 kHz, on the model's device.

    Returns:
        The embeddings [n, frames, D] (float32) and each frame's centre [n, frames], in milliseconds.
    """
    return model.timestamps(audio)
