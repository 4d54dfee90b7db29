"""SGD with momentum, dampening, Nesterov, weight decay and maximize, as PyTorch's SGD."""

from __future__ import annotations

from typing import Any

import torch

from autogradlib.optim.optimizer import Optimizer, check_number, signed
from autogradlib.variable import Variable


class SGD(Optimizer):
    """g = grad + wd * p;  b = momentum * b + (1 - dampening) * g  (b = g at first);
    p -= lr * (g + momentum * b if nesterov else b)  (p -= lr * g without momentum)."""

    def __init__(
        self,
        params,
        lr: float = 1e-3,
        momentum: float = 0,
        dampening: float = 0,
        weight_decay: float = 0,
        nesterov: bool = False,
        *,
        maximize: bool = False,
    ) -> None:
        defaults = {
            "lr": lr,
            "momentum": momentum,
            "dampening": dampening,
            "weight_decay": weight_decay,
            "nesterov": nesterov,
            "maximize": maximize,
        }
        super().__init__(params, defaults)

    def _check_hyperparameters(self, group: dict[str, Any]) -> None:
        for name in ("lr", "momentum", "dampening", "weight_decay"):
            check_number("SGD", name, group[name])
        if group["nesterov"] and (group["momentum"] <= 0 or group["dampening"] != 0):
            raise ValueError(
                f"SGD: invalid nesterov=True with momentum {group['momentum']!r} and dampening "
                f"{group['dampening']!r}: Nesterov needs a momentum > 0 and zero dampening"
            )

    def _update_group(
        self, group: dict[str, Any], params: list[Variable], tensors: list, grads: list
    ) -> None:
        # Every operation below makes new tensors or updates the optimizer's own: param.grad
        # may be shared with other code and is never written.
        grads = signed(grads, group["maximize"])
        if group["weight_decay"] != 0:
            grads = torch._foreach_add(grads, tensors, alpha=group["weight_decay"])
        momentum = group["momentum"]
        if momentum != 0:
            buffers = self._momentum_buffers(params, grads, momentum, group["dampening"])
            if group["nesterov"]:
                grads = torch._foreach_add(grads, buffers, alpha=momentum)
            else:
                grads = buffers
        torch._foreach_add_(tensors, grads, alpha=-group["lr"])

    def _momentum_buffers(self, params, grads, momentum: float, dampening: float) -> list:
        """b = momentum * b + (1 - dampening) * g, updated in place; b = a copy of g at first."""
        states = [self.state.setdefault(param, {}) for param in params]
        if all("momentum_buffer" in state for state in states):
            buffers = [state["momentum_buffer"] for state in states]
            torch._foreach_mul_(buffers, momentum)
            torch._foreach_add_(buffers, grads, alpha=1 - dampening)
            return buffers
        buffers = []
        for state, grad in zip(states, grads, strict=True):
            buffer = state.get("momentum_buffer")
            if buffer is None:
                buffer = state["momentum_buffer"] = grad.clone()
            else:
                buffer.mul_(momentum).add_(grad, alpha=1 - dampening)
            buffers.append(buffer)
        return buffers
