"""detect_anomaly(): stop at the first operator whose output or gradient is not finite."""

import contextlib
import os
import sys

import torch

from autogradlib.errors import AnomalyError

enabled = False
# With the separator, so that a user's file in a sibling folder such as autogradlib_demo/ counts.
_PACKAGE_DIR = os.path.dirname(os.path.abspath(__file__)) + os.sep


class detect_anomaly(contextlib.ContextDecorator):
    """Inside, a non-finite forward output or backward gradient raises AnomalyError naming the
    operator and the line of user code that created it."""

    def __enter__(self) -> None:
        global enabled
        self.previous = enabled
        enabled = True

    def __exit__(self, *exc_info) -> None:
        global enabled
        enabled = self.previous

    def _recreate_cm(self):
        return type(self)()


def user_code_location() -> str:
    """'file:line in function' of the innermost caller outside Autogradlib."""
    frame = sys._getframe(1)
    while frame is not None and os.path.abspath(frame.f_code.co_filename).startswith(_PACKAGE_DIR):
        frame = frame.f_back
    if frame is None:
        return "<unknown>"
    code = frame.f_code
    return f"{code.co_filename}:{frame.f_lineno} in {code.co_name}"


def is_finite(tensor) -> bool:
    """True for non-floating tensors and for floating ones without inf or NaN."""
    if not isinstance(tensor, torch.Tensor) or not tensor.is_floating_point():
        return True
    return bool(torch.isfinite(tensor).all())


def check_forward(operator, output: torch.Tensor) -> None:
    """Remember where `operator` was created, and raise if its output is not finite."""
    operator.created_at = user_code_location()
    if not is_finite(output):
        raise AnomalyError(
            f"{operator.label} produced a non-finite output of shape {tuple(output.shape)} "
            f"in forward, at {operator.created_at}"
        )


def check_backward(operator, grads) -> None:
    """Raise if any gradient `operator` passes to its operands is not finite."""
    for index, grad in enumerate(grads):
        if grad is not None and not is_finite(grad):
            where = operator.__dict__.get("created_at", "<created outside detect_anomaly()>")
            raise AnomalyError(
                f"{operator.label} returned a non-finite gradient for operand {index} "
                f"(shape {tuple(grad.shape)}) in backward; the operator was created at {where}"
            )
