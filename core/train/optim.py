"""Optimisers: Adam, AdamW, SGD and LARS, with weight decay on weights only (never biases or norm parameters)."""

from __future__ import annotations

import torch
from torch import nn

from core.errors import ConfigError

_NORMS = (nn.modules.batchnorm._NormBase, nn.LayerNorm, nn.GroupNorm, nn.LocalResponseNorm)


def param_groups(model: nn.Module, weight_decay: float) -> list[dict]:
    """Two parameter groups: weights with ``weight_decay``, and biases plus normalisation parameters without.

    A parameter is exempt when it belongs to a normalisation layer or is one-dimensional (biases, scales).
    Exempt parameters are also excluded from LARS adaptation (``lars_exclude``), as in SimCLR.
    """
    decay, no_decay, seen = [], [], set()
    for module in model.modules():
        for name, p in module.named_parameters(recurse=False):
            if not p.requires_grad or id(p) in seen:
                continue
            seen.add(id(p))
            if isinstance(module, _NORMS) or p.ndim <= 1 or name.endswith("bias"):
                no_decay.append(p)
            else:
                decay.append(p)
    groups = [{"params": decay, "weight_decay": weight_decay, "lars_exclude": False}]
    if no_decay:
        groups.append({"params": no_decay, "weight_decay": 0.0, "lars_exclude": True})
    return groups


class LARS(torch.optim.Optimizer):
    """Layer-wise adaptive rate scaling (You et al. 2017) over SGD with momentum, as used by SimCLR.

    For a parameter ``w`` with gradient ``g`` (weight decay ``wd`` already added: ``g + wd * w``), the local rate
    is ``eta * ||w|| / ||g + wd * w||`` (1 when either norm is 0), and the update is
    ``v = momentum * v + lr * local_rate * (g + wd * w)``; ``w -= v`` (or the Nesterov form).
    Groups with ``lars_exclude=True`` use a local rate of 1.
    """

    def __init__(
        self,
        params,
        lr: float,
        momentum: float = 0.9,
        weight_decay: float = 0.0,
        eta: float = 0.001,
        nesterov: bool = False,
    ) -> None:
        defaults = {
            "lr": lr,
            "momentum": momentum,
            "weight_decay": weight_decay,
            "eta": eta,
            "nesterov": nesterov,
            "lars_exclude": False,
        }
        super().__init__(params, defaults)

    @torch.no_grad()
    def step(self, closure=None):
        """One LARS step (``closure`` re-evaluates the loss, as in ``torch.optim``)."""
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
        for group in self.param_groups:
            for p in group["params"]:
                if p.grad is None:
                    continue
                g = p.grad
                if group["weight_decay"]:
                    g = g.add(p, alpha=group["weight_decay"])
                if not group["lars_exclude"]:
                    w_norm, g_norm = torch.linalg.vector_norm(p), torch.linalg.vector_norm(g)
                    trust = torch.where(
                        (w_norm > 0) & (g_norm > 0), group["eta"] * w_norm / g_norm, torch.ones_like(w_norm)
                    )
                    g = g * trust
                state = self.state[p]
                buf = state.get("momentum_buffer")
                if buf is None:
                    buf = state["momentum_buffer"] = g.mul(group["lr"]).clone()
                else:
                    buf.mul_(group["momentum"]).add_(g, alpha=group["lr"])
                update = g.mul(group["lr"]).add(buf, alpha=group["momentum"]) if group["nesterov"] else buf
                p.sub_(update)
        return loss


def build_optimizer(
    model: nn.Module,
    name: str,
    lr: float,
    weight_decay: float = 0.0,
    momentum: float = 0.9,
    nesterov: bool = False,
    betas: tuple[float, float] = (0.9, 0.999),
    eps: float = 1e-8,
    lars_eta: float = 0.001,
) -> torch.optim.Optimizer:
    """The named optimiser over :func:`param_groups` of ``model``.

    ``adam`` adds L2 decay to the gradient, ``adamw`` decays decoupled; ``sgd`` and ``lars`` use ``momentum``.
    """
    groups = param_groups(model, weight_decay)
    if name == "adam":
        return torch.optim.Adam(groups, lr=lr, betas=tuple(betas), eps=eps)
    if name == "adamw":
        return torch.optim.AdamW(groups, lr=lr, betas=tuple(betas), eps=eps)
    if name == "sgd":
        return torch.optim.SGD(groups, lr=lr, momentum=momentum, nesterov=nesterov and momentum > 0)
    if name == "lars":
        return LARS(groups, lr=lr, momentum=momentum, eta=lars_eta, nesterov=nesterov)
    raise ConfigError(f"optim.name: {name!r} is not one of adam, adamw, sgd, lars")
