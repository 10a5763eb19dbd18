"""Encoders (2-D/1-D ResNet18, small CNNs) and the heads the regimes put on them."""

from core.models.factory import ENCODERS, MODEL_OPTIONS, build_encoder, check_model_options
from core.models.heads import ClarHead, ProjectionHead, SupervisedHead, mlp
from core.models.resnet1d import ResNet18_1d
from core.models.resnet2d import ResNet18_2d
from core.models.small_cnn import SmallCNN1d, SmallCNN2d

__all__ = [
    "ENCODERS",
    "MODEL_OPTIONS",
    "ClarHead",
    "ProjectionHead",
    "ResNet18_1d",
    "ResNet18_2d",
    "SmallCNN1d",
    "SmallCNN2d",
    "SupervisedHead",
    "build_encoder",
    "check_model_options",
    "mlp",
]
