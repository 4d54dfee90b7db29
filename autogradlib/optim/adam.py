"""Adam (and AMSGrad, and AdamW's decoupled weight decay), as PyTorch's Adam."""

from __future__ import annotations

from typing import Any

import torch

from autogradlib.optim.optimizer import Optimizer, check_number, signed
from autogradlib.variable import Variable


class Adam(Optimizer):
    """g = grad + wd * p;  m = b1 m + (1 - b1) g;  v = b2 v + (1 - b2) g^2;
    p -= lr / (1 - b1^t) * m / (sqrt(v / (1 - b2^t)) + eps)  (AMSGrad: v replaced by max over t).

    With decoupled_weight_decay (AdamW), p *= 1 - lr * wd first, and g is the gradient alone.
    """

    def __init__(
        self,
        params,
        lr: float = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 0,
        amsgrad: bool = False,
        *,
        maximize: bool = False,
        decoupled_weight_decay: bool = False,
    ) -> None:
        defaults = {
            "lr": lr,
            "betas": betas,
            "eps": eps,
            "weight_decay": weight_decay,
            "amsgrad": amsgrad,
            "maximize": maximize,
            "decoupled_weight_decay": decoupled_weight_decay,
        }
        super().__init__(params, defaults)

    def _check_hyperparameters(self, group: dict[str, Any]) -> None:
        optimizer = type(self).__name__
        for name in ("lr", "eps", "weight_decay"):
            check_number(optimizer, name, group[name])
        betas = group["betas"]
        if not isinstance(betas, (tuple, list)) or len(betas) != 2:
            raise ValueError(
                f"{optimizer}: invalid betas {betas!r}: expected a pair (beta1, beta2)"
            )
        for index, beta in enumerate(betas):
            check_number(optimizer, f"betas[{index}]", beta)
            if beta >= 1:
                raise ValueError(
                    f"{optimizer}: invalid betas[{index}] {beta!r}: expected 0 <= beta < 1"
                )

    def _state(self, param: Variable, amsgrad: bool) -> dict[str, Any]:
        """The parameter's state, created on its first step as torch creates it."""
        state = self.state.setdefault(param, {})
        if not state:
            # torch keeps the step count as a CPU float tensor; so do we, so state dicts match.
            default = torch.get_default_dtype()
            scalar_dtype = torch.float64 if default == torch.float64 else torch.float32
            state["step"] = torch.tensor(0.0, dtype=scalar_dtype)
            state["exp_avg"] = torch.zeros_like(param.tensor)
            state["exp_avg_sq"] = torch.zeros_like(param.tensor)
        if amsgrad and "max_exp_avg_sq" not in state:
            state["max_exp_avg_sq"] = torch.zeros_like(param.tensor)
        return state

    def _update_group(
        self, group: dict[str, Any], params: list[Variable], tensors: list, grads: list
    ) -> None:
        states = [self._state(param, group["amsgrad"]) for param in params]
        steps = [state["step"] for state in states]
        torch._foreach_add_(steps, 1)
        # New tensors only: param.grad may be shared with other code and is never written.
        grads = signed(grads, group["maximize"])
        weight_decay = group["weight_decay"]
        if weight_decay != 0 and group.get("decoupled_weight_decay", False):
            torch._foreach_mul_(tensors, 1 - group["lr"] * weight_decay)
        elif weight_decay != 0:
            grads = torch._foreach_add(grads, tensors, alpha=weight_decay)
        exp_avgs = [state["exp_avg"] for state in states]
        denominators = self._update_moments(group, states, exp_avgs, grads)
        # The bias corrections, in torch's order of operations so the results are bit-identical.
        beta1, beta2 = group["betas"]
        counts = [step.item() for step in steps]
        step_sizes = [(group["lr"] / (1 - beta1**count)) * -1 for count in counts]
        torch._foreach_div_(denominators, [(1 - beta2**count) ** 0.5 for count in counts])
        torch._foreach_add_(denominators, group["eps"])
        torch._foreach_addcdiv_(tensors, exp_avgs, denominators, step_sizes)

    @staticmethod
    def _update_moments(group: dict[str, Any], states: list, exp_avgs: list, grads: list) -> list:
        """m = b1 m + (1 - b1) g; v = b2 v + (1 - b2) g^2 (in place); returns sqrt(v or max v)."""
        beta1, beta2 = group["betas"]
        exp_avg_sqs = [state["exp_avg_sq"] for state in states]
        torch._foreach_lerp_(exp_avgs, grads, 1 - beta1)
        torch._foreach_mul_(exp_avg_sqs, beta2)
        torch._foreach_addcmul_(exp_avg_sqs, grads, grads, 1 - beta2)
        if not group["amsgrad"]:
            return torch._foreach_sqrt(exp_avg_sqs)
        max_exp_avg_sqs = [state["max_exp_avg_sq"] for state in states]
        torch._foreach_maximum_(max_exp_avg_sqs, exp_avg_sqs)
        return torch._foreach_sqrt(max_exp_avg_sqs)
