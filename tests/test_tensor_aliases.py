"""What the ported programs (examples/ports) use beyond the rest of the Tensor surface: numpy's
axis= in argmax / argmin, nelement(), and torch.multinomial on a Variable of probabilities."""

import torch

from autogradlib import Variable


def test_argmax_and_argmin_take_numpy_axis():
    tensor = torch.randn(4, 5)
    variable = Variable(tensor)
    for name in ("argmax", "argmin"):
        for axis in (0, 1, -1):
            expected = getattr(tensor, name)(axis=axis)
            assert torch.equal(getattr(variable, name)(axis=axis).tensor, expected)
            assert torch.equal(getattr(torch, name)(variable, axis=axis).tensor, expected)


def test_nelement_is_numel():
    variable = Variable(torch.randn(3, 4, 2))
    assert variable.nelement() == 24 == variable.numel()


def test_multinomial_draws_torchs_samples_from_a_variable():
    probabilities = torch.softmax(torch.randn(3, 27, dtype=torch.float64), dim=1)
    variable = Variable(probabilities) * 1.0  # a recorded Variable, as a model's output is
    for kwargs in ({"num_samples": 1}, {"num_samples": 5, "replacement": True}):
        expected = torch.multinomial(
            probabilities, generator=torch.Generator().manual_seed(7), **kwargs
        )
        drawn = torch.multinomial(variable, generator=torch.Generator().manual_seed(7), **kwargs)
        assert isinstance(drawn, torch.Tensor) and torch.equal(drawn, expected)
