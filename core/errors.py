"""Typed errors. Every message names the file or setting at fault and what is wrong with it."""

from __future__ import annotations


class ClarError(Exception):
    """Base class of every error CLAR Studio raises on purpose."""


class AudioLoadError(ClarError, ValueError):
    """An audio file could not be read: missing, empty, not audio, corrupt, non-finite, too short or too long."""

    def __init__(self, path: object, problem: str) -> None:
        self.path = str(path)
        self.problem = problem
        super().__init__(f"{self.path}: {problem}")


class DatasetError(ClarError, ValueError):
    """A dataset is missing, incomplete or laid out wrongly."""


class DownloadError(ClarError, RuntimeError):
    """A download failed, or its checksum or size did not match the pinned value."""


class ConfigError(ClarError, ValueError):
    """A configuration value is unknown or out of range."""


class CheckpointError(ClarError, RuntimeError):
    """A checkpoint is missing, truncated or corrupt."""


class RunStoreError(ClarError, RuntimeError):
    """The run store could not complete an operation."""


class OwnershipLost(RunStoreError):
    """This process no longer owns its run: another process took it over (e.g. ``train --resume``)."""


class TrainingError(ClarError, RuntimeError):
    """Training or probe fitting cannot go on: a non-finite loss, a diverged probe, a bad batch."""
