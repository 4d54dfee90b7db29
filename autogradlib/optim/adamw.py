"""AdamW: Adam with decoupled weight decay, as PyTorch's AdamW."""

from __future__ import annotations

from autogradlib.optim.adam import Adam


class AdamW(Adam):
    """p *= 1 - lr * wd;  then Adam's step on the gradient alone (wd = 0.01 by default)."""

    def __init__(
        self,
        params,
        lr: float = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 1e-2,
        amsgrad: bool = False,
        *,
        maximize: bool = False,
    ) -> None:
        super().__init__(
            params,
            lr,
            betas,
            eps,
            weight_decay,
            amsgrad,
            maximize=maximize,
            decoupled_weight_decay=True,
        )
