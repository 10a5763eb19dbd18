"""CLAR Studio core: audio I/O, datasets, features, augmentations, models, training and evaluation."""

__version__ = "0.1.0"
SAMPLE_RATE = 16000
"""The sample rate (Hz) that every waveform inside CLAR Studio uses."""
