"""Optimizer: the base class, with parameter groups and per-parameter state as in PyTorch."""

from __future__ import annotations

import copy
import math
import numbers
from collections.abc import Callable
from typing import Any

import torch

from autogradlib.grad_mode import enable_grad
from autogradlib.variable import Variable


class Optimizer:
    """Updates Variables from their .grad; subclasses implement `_update_group`.

    `param_groups` is a list of dicts, each with 'params' (a list of Variables) and the
    hyperparameters; `state` maps a Variable to its dict of tensors (momentum buffers, ...).
    """

    def __init__(self, params, defaults: dict[str, Any]) -> None:
        self._check_hyperparameters(defaults)
        self.defaults = defaults
        self.state: dict[Variable, dict[str, Any]] = {}
        self.param_groups: list[dict[str, Any]] = []
        groups = list(params)
        if not groups:
            raise ValueError(f"{type(self).__name__}: got an empty parameter list")
        if not isinstance(groups[0], dict):
            groups = [{"params": groups}]
        for group in groups:
            self.add_param_group(group)

    def add_param_group(self, param_group: dict[str, Any]) -> None:
        """Add a group of parameters with its own hyperparameters (the defaults fill the rest)."""
        if not isinstance(param_group, dict):
            raise TypeError(f"param group must be a dict, got {type(param_group).__name__}")
        params = param_group["params"]
        params = [params] if isinstance(params, Variable) else list(params)
        self._check_params(params)
        group = {**self.defaults, **param_group, "params": params}
        self._check_hyperparameters(group)
        self.param_groups.append(group)

    def _check_params(self, params: list) -> None:
        """Only leaf Variables, each in one group once."""
        for param in params:
            if not isinstance(param, Variable):
                raise TypeError(
                    f"{type(self).__name__} can only optimize Variables, got {type(param).__name__}"
                )
            if not param.is_leaf:
                raise ValueError(f"{type(self).__name__}: can't optimize a non-leaf Variable")
        known = {id(param) for group in self.param_groups for param in group["params"]}
        ids = [id(param) for param in params]
        if len(set(ids)) != len(ids) or known.intersection(ids):
            raise ValueError(f"{type(self).__name__}: some parameters appear more than once")

    def _check_hyperparameters(self, group: dict[str, Any]) -> None:
        """Raise ValueError naming any invalid hyperparameter of `group`."""

    def zero_grad(self, set_to_none: bool = True) -> None:
        """Forget the gradients: None (torch's default), or new zero tensors."""
        for group in self.param_groups:
            for param in group["params"]:
                if set_to_none or param.grad is None:
                    param.grad = None
                else:
                    # A new tensor, never zero_(): the gradient may be shared with other code.
                    param.grad = torch.zeros_like(param.grad)

    def step(self, closure: Callable[[], Any] | None = None):
        """Update every parameter that has a gradient; return closure()'s loss, if given."""
        self._opt_called = True  # read by the schedulers, which warn when stepped before this
        loss = None
        if closure is not None:
            with enable_grad():
                loss = closure()
        for group in self.param_groups:
            params = [param for param in group["params"] if param.grad is not None]
            if params:
                tensors = [param.tensor for param in params]
                self._update_group(group, params, tensors, [param.grad for param in params])
        return loss

    def _update_group(
        self, group: dict[str, Any], params: list[Variable], tensors: list, grads: list
    ) -> None:
        """Update `tensors`, those of `params`, from `grads`, their gradients (never written),
        with `group`'s hyperparameters. autogradlib.jit's replays call it with the lists."""
        raise NotImplementedError(f"{type(self).__name__} must implement _update_group()")

    def state_dict(self) -> dict[str, Any]:
        """{'state': {index: {name: tensor}}, 'param_groups': [{..., 'params': [index, ...]}]}.

        torch's layout; parameters are numbered in group order. Tensors are copies, so the
        result is a snapshot that later steps do not change.
        """
        index_of: dict[int, int] = {}
        groups = []
        for group in self.param_groups:
            for param in group["params"]:
                index_of.setdefault(id(param), len(index_of))
            packed = {key: value for key, value in group.items() if key != "params"}
            packed["params"] = [index_of[id(param)] for param in group["params"]]
            groups.append(packed)
        state = {
            index_of[id(param)]: _copy_state(param_state)
            for param, param_state in self.state.items()
            if id(param) in index_of
        }
        return {"state": state, "param_groups": groups}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Take the hyperparameters and state of state_dict(), from this library or PyTorch.

        State tensors are copied, and cast to their parameter's dtype and device (except 'step').
        """
        saved_groups = state_dict["param_groups"]
        if len(saved_groups) != len(self.param_groups):
            raise ValueError(
                f"loaded state dict has {len(saved_groups)} parameter groups, "
                f"this optimizer has {len(self.param_groups)}"
            )
        param_of: dict[Any, Variable] = {}
        for saved, group in zip(saved_groups, self.param_groups, strict=True):
            if len(saved["params"]) != len(group["params"]):
                raise ValueError(
                    f"loaded state dict has a group of {len(saved['params'])} parameters where "
                    f"this optimizer has {len(group['params'])}"
                )
            param_of.update(zip(saved["params"], group["params"], strict=True))
        new_groups = []
        for saved, group in zip(saved_groups, self.param_groups, strict=True):
            new_group = {**copy.deepcopy(saved), "params": group["params"]}
            self._check_hyperparameters(new_group)
            new_groups.append(new_group)
        self.param_groups = new_groups
        self.state = {
            param_of[index]: _cast_state(param_of[index], param_state)
            for index, param_state in state_dict["state"].items()
            if index in param_of
        }


def _copy_state(param_state: dict[str, Any]) -> dict[str, Any]:
    return {
        key: value.clone() if isinstance(value, torch.Tensor) else copy.deepcopy(value)
        for key, value in param_state.items()
    }


def _cast_state(param: Variable, param_state: dict[str, Any]) -> dict[str, Any]:
    """A copy of one parameter's state, its tensors (but the step count) moved to the parameter."""
    result = {}
    for key, value in param_state.items():
        if isinstance(value, torch.Tensor) and key != "step":
            dtype = param.dtype if value.is_floating_point() else None
            value = value.to(device=param.device, dtype=dtype, copy=True)
        elif isinstance(value, torch.Tensor):
            value = value.clone()
        else:
            value = copy.deepcopy(value)
        result[key] = value
    return result


def check_number(optimizer: str, name: str, value, low: float = 0.0) -> None:
    """Raise ValueError unless `value` is a finite real number >= low."""
    if (
        isinstance(value, bool)
        or not isinstance(value, numbers.Real)
        or not math.isfinite(value)
        or value < low
    ):
        raise ValueError(
            f"{optimizer}: invalid {name} {value!r}: expected a finite number >= {low}"
        )


def signed(grads: list[torch.Tensor], maximize: bool) -> list[torch.Tensor]:
    """The gradients, negated (as new tensors) to maximize."""
    return torch._foreach_neg(grads) if maximize else grads
