"""Export a trained checkpoint as one self-contained model: waveform in, embedding and logits out.

Public API: :class:`ExportedModel`, :func:`export_checkpoint`, :func:`check_export`. ``python -m core export``
is the command line; docs/export.md says how to use the files.
"""

from core.export.formats import FORMATS, check_export, export_checkpoint
from core.export.model import ExportedModel

__all__ = ["FORMATS", "ExportedModel", "check_export", "export_checkpoint"]
