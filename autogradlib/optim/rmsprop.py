"""RMSprop (plain, centered, with momentum), as PyTorch's RMSprop."""

from __future__ import annotations

from typing import Any

import torch

from autogradlib.optim.optimizer import Optimizer, check_number, signed
from autogradlib.variable import Variable


class RMSprop(Optimizer):
    """g = grad + wd * p;  v = alpha v + (1 - alpha) g^2;  s = sqrt(v - a^2) + eps, with
    a = alpha a + (1 - alpha) g when centered (a = 0 otherwise);
    b = momentum * b + g / s, p -= lr * b  (p -= lr * g / s without momentum)."""

    def __init__(
        self,
        params,
        lr: float = 1e-2,
        alpha: float = 0.99,
        eps: float = 1e-8,
        weight_decay: float = 0,
        momentum: float = 0,
        centered: bool = False,
        *,
        maximize: bool = False,
    ) -> None:
        defaults = {
            "lr": lr,
            "momentum": momentum,
            "alpha": alpha,
            "eps": eps,
            "centered": centered,
            "weight_decay": weight_decay,
            "maximize": maximize,
        }
        super().__init__(params, defaults)

    def _check_hyperparameters(self, group: dict[str, Any]) -> None:
        for name in ("lr", "alpha", "eps", "weight_decay", "momentum"):
            check_number("RMSprop", name, group[name])

    def _state(self, param: Variable, group: dict[str, Any]) -> dict[str, Any]:
        """The parameter's state, created on its first step as torch creates it."""
        state = self.state.setdefault(param, {})
        if not state:
            # torch keeps the step count as a CPU float tensor; so do we, so state dicts match.
            default = torch.get_default_dtype()
            scalar_dtype = torch.float64 if default == torch.float64 else torch.float32
            state["step"] = torch.tensor(0.0, dtype=scalar_dtype)
            state["square_avg"] = torch.zeros_like(param.tensor)
            if group["momentum"] > 0:
                state["momentum_buffer"] = torch.zeros_like(param.tensor)
            if group["centered"]:
                state["grad_avg"] = torch.zeros_like(param.tensor)
        return state

    def _update_group(
        self, group: dict[str, Any], params: list[Variable], tensors: list, grads: list
    ) -> None:
        states = [self._state(param, group) for param in params]
        torch._foreach_add_([state["step"] for state in states], 1)
        # New tensors only: param.grad may be shared with other code and is never written.
        grads = signed(grads, group["maximize"])
        if group["weight_decay"] != 0:
            grads = torch._foreach_add(grads, tensors, alpha=group["weight_decay"])
        alpha = group["alpha"]
        square_avgs = [state["square_avg"] for state in states]
        torch._foreach_mul_(square_avgs, alpha)
        torch._foreach_addcmul_(square_avgs, grads, grads, value=1 - alpha)
        if group["centered"]:
            grad_avgs = [state["grad_avg"] for state in states]
            torch._foreach_lerp_(grad_avgs, grads, 1 - alpha)
            averages = torch._foreach_addcmul(square_avgs, grad_avgs, grad_avgs, value=-1)
            torch._foreach_sqrt_(averages)
        else:
            averages = torch._foreach_sqrt(square_avgs)
        torch._foreach_add_(averages, group["eps"])
        if group["momentum"] > 0:
            buffers = [state["momentum_buffer"] for state in states]
            torch._foreach_mul_(buffers, group["momentum"])
            torch._foreach_addcdiv_(buffers, grads, averages)
            torch._foreach_add_(tensors, buffers, alpha=-group["lr"])
        else:
            torch._foreach_addcdiv_(tensors, grads, averages, value=-group["lr"])
