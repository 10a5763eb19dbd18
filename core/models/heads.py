"""Heads on top of the representation ``h``, as in the CLAR paper and the authors' code.

* :class:`ProjectionHead` (SimCLR): 512 -> 512 -> 512 -> 128, BN + ReLU between layers.
* :class:`ClarHead`: a projection like SimCLR's gives ``z`` (fed to NT-Xent after L2 normalisation); from the
  *un-normalised* ``z``, BN -> ReLU -> Linear(128 -> C) gives the class logits for cross-entropy. The paper
  describes a 3-layer projection (512 -> 512 -> 512 -> 128); the authors' code uses 2 (512 -> 512 -> 128).
  ``proj_layers`` chooses (the config's ``model.proj_layers``, default 3 for SimCLR and CLAR alike, so that a
  comparison between the regimes changes the loss and not the head).
* :class:`SupervisedHead`: 512 -> 512 -> 512 -> C, BN + ReLU between layers.

Linear layers that feed a BatchNorm carry no bias (the BN shift makes it redundant); the last layer of
each head has one.
"""

from __future__ import annotations

from collections.abc import Sequence

from torch import Tensor, nn

from core.errors import ConfigError


def mlp(dims: Sequence[int]) -> nn.Sequential:
    """Linear layers through ``dims`` (e.g. [512, 512, 512, 128]) with BatchNorm1d + ReLU between them."""
    if len(dims) < 2 or any(int(d) < 1 for d in dims):
        raise ConfigError(f"head dims {list(dims)}: need at least two positive sizes")
    layers: list[nn.Module] = []
    for i in range(len(dims) - 1):
        last = i == len(dims) - 2
        layers.append(nn.Linear(dims[i], dims[i + 1], bias=last))
        if not last:
            layers += [nn.BatchNorm1d(dims[i + 1]), nn.ReLU(inplace=True)]
    return nn.Sequential(*layers)


class ProjectionHead(nn.Module):
    """SimCLR projection g(h): in_dim -> hidden_dim x (num_layers - 1) -> out_dim; returns un-normalised z."""

    def __init__(self, in_dim: int = 512, hidden_dim: int = 512, out_dim: int = 128, num_layers: int = 3) -> None:
        super().__init__()
        if num_layers < 1:
            raise ConfigError(f"ProjectionHead: num_layers={num_layers} must be >= 1")
        self.net = mlp([in_dim] + [hidden_dim] * (num_layers - 1) + [out_dim])

    def forward(self, h: Tensor) -> Tensor:
        """The un-normalised projection ``z`` [B, out_dim] of ``h`` [B, in_dim]."""
        return self.net(h)


class SupervisedHead(nn.Module):
    """Classifier in_dim -> hidden_dim x (num_layers - 1) -> num_classes; returns logits."""

    def __init__(self, in_dim: int = 512, hidden_dim: int = 512, num_classes: int = 10, num_layers: int = 3) -> None:
        super().__init__()
        if num_classes < 1 or num_layers < 1:
            raise ConfigError(f"SupervisedHead: num_classes={num_classes}, num_layers={num_layers} must be >= 1")
        self.net = mlp([in_dim] + [hidden_dim] * (num_layers - 1) + [num_classes])

    def forward(self, h: Tensor) -> Tensor:
        """Class logits [B, num_classes] of ``h`` [B, in_dim]."""
        return self.net(h)


class ClarHead(nn.Module):
    """CLAR's two-branch head: a projection and a classifier on its output.

    CLAR's two-branch head: ``z = proj(h)`` (in_dim -> hidden_dim x (proj_layers - 1) -> proj_dim), ``logits = cls(z)``.

    ``cls`` is BN -> ReLU -> Linear(proj_dim -> num_classes) applied to the un-normalised ``z``.
    ``forward`` returns ``(z, logits)``. ``proj_layers=2`` is the authors' code; 3 is the paper and SimCLR.
    """

    def __init__(
        self, in_dim: int = 512, hidden_dim: int = 512, proj_dim: int = 128, num_classes: int = 10, proj_layers: int = 2
    ) -> None:
        super().__init__()
        if num_classes < 1 or proj_layers < 1:
            raise ConfigError(f"ClarHead: num_classes={num_classes}, proj_layers={proj_layers} must be >= 1")
        self.proj = mlp([in_dim] + [hidden_dim] * (proj_layers - 1) + [proj_dim])
        self.cls = nn.Sequential(nn.BatchNorm1d(proj_dim), nn.ReLU(), nn.Linear(proj_dim, num_classes))

    def forward(self, h: Tensor) -> tuple[Tensor, Tensor]:
        """``(z, logits)``: the projection [B, proj_dim] and the class logits [B, num_classes]."""
        z = self.proj(h)
        return z, self.cls(z)
