"""Using a trained checkpoint: load it, embed clean audio, classify clips of any length, find neighbours.

- :mod:`core.inference.trained`: :func:`load_trained` and :class:`Trained` (embed, predict, the probe).
- :mod:`core.inference.windows`: a clip longer than the model's input, scored in overlapping windows.
- :mod:`core.inference.neighbours`: the training clips nearest to a clip in the model's embedding space.
"""

from core.inference.trained import PROBE_FILENAME, Trained, data_settings, load_trained, resolve_checkpoint

__all__ = ["PROBE_FILENAME", "Trained", "data_settings", "load_trained", "resolve_checkpoint"]
