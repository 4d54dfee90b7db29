"""gradcheck itself: it passes correct gradients, and fails wrong ones with a useful report."""

from functools import partial

import pytest
import torch

from autogradlib import GradcheckError, GradOperator, Variable, gradcheck


class Scale(GradOperator):
    """a * factor, with a pass_grad that multiplies the gradient of one element by `error`."""

    def forward(self, a, factor=2.0, wrong_at=None, error=1.0):
        self.factor, self.wrong_at, self.error = factor, wrong_at, error
        return a * factor

    def pass_grad(self, grad_output):
        grad = grad_output * self.factor
        if self.wrong_at is not None:
            grad[self.wrong_at] *= self.error
        return (grad,)


class NaNGradient(GradOperator):
    def forward(self, a):
        return a * 2

    def pass_grad(self, grad_output):
        return (grad_output * float("nan"),)


def values(*shape, seed: int = 0) -> torch.Tensor:
    return torch.randn(shape, dtype=torch.float64, generator=torch.Generator().manual_seed(seed))


def test_correct_operator_passes():
    assert gradcheck(partial(Scale.apply, factor=-3.0), values(2, 3))


def test_wrong_operator_raises_naming_input_and_worst_element():
    wrong = partial(Scale.apply, factor=2.0, wrong_at=(1, 2), error=3.0)
    with pytest.raises(GradcheckError) as caught:
        gradcheck(wrong, values(2, 3))
    message = str(caught.value)
    assert "input 0 (shape (2, 3))" in message
    assert "output element 5, input element (1, 2)" in message
    assert "analytical 6, numerical 2" in message


def test_report_names_the_input_whose_gradient_is_wrong():
    def fn(a, b):
        return a * 2.0 + Scale.apply(b, factor=1.0, wrong_at=0, error=-1.0)

    with pytest.raises(GradcheckError, match=r"input 1 \(shape \(3,\)\).*input element \(0,\)"):
        gradcheck(fn, values(3), values(3, seed=1))


def test_raise_exception_false_returns_false():
    wrong = partial(Scale.apply, wrong_at=0, error=1.5)
    assert gradcheck(wrong, values(4), raise_exception=False) is False


def test_nan_gradient_fails():
    with pytest.raises(GradcheckError, match="analytical nan"):
        gradcheck(NaNGradient.apply, values(3))


def test_tolerances_decide_what_is_close_enough():
    slightly_wrong = partial(Scale.apply, wrong_at=0, error=1.01)
    assert gradcheck(slightly_wrong, values(3), raise_exception=False) is False
    assert gradcheck(slightly_wrong, values(3), rtol=0.1)


def test_inputs_become_float64_leaves_and_other_inputs_pass_through():
    seen = []

    def fn(x, index):
        seen.append((x.dtype, x.requires_grad, index))
        return x[index] * 2

    index = torch.tensor([2, 0, 2])
    assert gradcheck(fn, torch.randn(4, dtype=torch.float32), index)
    assert all(dtype == torch.float64 and needs for dtype, needs, _ in seen)
    assert all(given is index for _, _, given in seen)


def test_inputs_are_left_unchanged():
    x = values(2, 3)
    original = x.clone()
    variable = Variable(values(3, seed=1))
    original_variable = variable.tensor.clone()
    gradcheck(lambda x, v: x * v, x, variable)
    assert torch.equal(x, original)
    assert torch.equal(variable.tensor, original_variable)
    assert variable.grad is None


def test_non_contiguous_inputs_are_checked():
    assert gradcheck(lambda x: x.exp(), values(3, 4).t())


def test_view_like_functions_pass():
    # Their outputs share the input's storage, which the numerical Jacobian nudges.
    assert gradcheck(lambda x: x[1:], values(3, 2))
    assert gradcheck(lambda x: x.reshape(-1), values(3, 2))


def test_fn_must_return_a_variable():
    with pytest.raises(TypeError, match="must return a Variable"):
        gradcheck(lambda x: x.tensor, values(2))
