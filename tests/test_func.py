"""autogradlib.func against torch.func: the same functions, the same results."""

import pytest
import torch
import torch.func as tf

from autogradlib import Variable, func, nn

DOUBLE = torch.float64


def tensor(*shape, seed=0):
    return torch.randn(shape, dtype=DOUBLE, generator=torch.Generator().manual_seed(seed))


def f(x):
    return (x.tanh() * x.exp()).sum()


def g(x, y):
    return (x * y.sin() if isinstance(x, torch.Tensor) else x * y.tanh()).sum()


def h(x, y):
    return (x.tanh() * y).sum() + (x * x * y.exp()).sum()


def vector_function(x):
    return (x.exp() * x.sum()).tanh()


def close(actual, expected):
    torch.testing.assert_close(actual, expected)


def test_grad_and_value_return_torch_tensors_like_torch_func():
    x = tensor(3)
    gradient, value = func.grad_and_value(f)(x)
    expected_gradient, expected_value = tf.grad_and_value(f)(x)
    assert type(gradient) is torch.Tensor and type(value) is torch.Tensor
    close(gradient, expected_gradient)
    close(value, expected_value)


def test_grad_with_argnums_tuple_and_has_aux():
    x, y = tensor(3), tensor(3, seed=1)

    def with_aux(x, y):
        return h(x, y), {"norm": (x * x).sum()}

    (gx, gy), aux = func.grad(with_aux, argnums=(0, 1), has_aux=True)(x, y)
    (ex, ey), expected_aux = tf.grad(with_aux, argnums=(0, 1), has_aux=True)(x, y)
    close(gx, ex)
    close(gy, ey)
    close(aux["norm"], expected_aux["norm"])


def test_grad_over_a_dict_of_tensors():
    params = {"a": tensor(3), "b": (tensor(3, seed=1), tensor(3, seed=2))}

    def loss(p):
        return (p["a"].exp() * p["b"][0] + p["b"][1] ** 2).sum()

    actual = func.grad(loss)(params)
    expected = tf.grad(loss)(params)
    close(actual["a"], expected["a"])
    close(actual["b"][0], expected["b"][0])
    close(actual["b"][1], expected["b"][1])


def test_grad_of_grad_is_the_second_derivative():
    x = tensor(3)

    def scalar(x):
        return func.grad(f)(x).sum() if isinstance(x, Variable) else tf.grad(f)(x).sum()

    close(func.grad(scalar)(x), tf.grad(scalar)(x))


def test_grad_of_grad_composes_at_three_levels():
    x = tensor(2)

    def first(x):
        return func.grad(f)(x).sum()

    def second(x):
        return func.grad(first)(x).sum()

    def torch_first(x):
        return tf.grad(f)(x).sum()

    def torch_second(x):
        return tf.grad(torch_first)(x).sum()

    close(func.grad(second)(x), tf.grad(torch_second)(x))


def test_vjp_and_jvp_match_torch_func():
    x, v, t = tensor(4), tensor(4, seed=1), tensor(4, seed=2)
    output, vjp_fn = func.vjp(vector_function, x)
    expected_output, expected_vjp_fn = tf.vjp(vector_function, x)
    close(output, expected_output)
    close(vjp_fn(v)[0], expected_vjp_fn(v)[0])
    output, tangent_out = func.jvp(vector_function, (x,), (t,))
    expected_output, expected_tangent_out = tf.jvp(vector_function, (x,), (t,))
    close(output, expected_output)
    close(tangent_out, expected_tangent_out)


def test_jvp_with_two_primals():
    x, y, tx, ty = tensor(3), tensor(3, seed=1), tensor(3, seed=2), tensor(3, seed=3)

    def two(x, y):
        return x.tanh() * y.exp()

    actual = func.jvp(two, (x, y), (tx, ty))
    expected = tf.jvp(two, (x, y), (tx, ty))
    close(actual[0], expected[0])
    close(actual[1], expected[1])


@pytest.mark.parametrize("transform", ["jacrev", "jacfwd"])
def test_jacobians_match_torch_func(transform):
    x, y = tensor(2, 3), tensor(3, seed=1)

    def two(x, y):
        return (x * y).exp() @ y

    actual = getattr(func, transform)(two, argnums=(0, 1))(x, y)
    expected = getattr(tf, transform)(two, argnums=(0, 1))(x, y)
    for mine, theirs in zip(actual, expected, strict=True):
        assert mine.shape == theirs.shape
        close(mine, theirs)


def test_hessian_and_jacfwd_of_jacrev_match_torch_func():
    x = tensor(2, 2)
    close(func.hessian(f)(x), tf.hessian(f)(x))
    close(
        func.jacfwd(func.jacrev(vector_function))(tensor(3)),
        tf.jacfwd(tf.jacrev(vector_function))(tensor(3)),
    )


def reference_and_model():
    torch.manual_seed(0)
    reference = torch.nn.Sequential(
        torch.nn.Linear(2, 5), torch.nn.Tanh(), torch.nn.Linear(5, 2)
    ).double()
    model = nn.Sequential(nn.Linear(2, 5, dtype=DOUBLE), nn.Tanh(), nn.Linear(5, 2, dtype=DOUBLE))
    model.load_state_dict(reference.state_dict())
    return reference, model


def test_functional_call_with_a_partial_dict_and_the_module_restored():
    reference, model = reference_and_model()
    x = tensor(4, 2)
    new_weight = tensor(5, 2, seed=3)
    actual = func.functional_call(model, {"0.weight": new_weight}, (Variable(x),))
    expected = tf.functional_call(reference, {"0.weight": new_weight}, (x,))
    close(actual.tensor, expected.detach())
    close(model(Variable(x)).tensor, reference(x).detach())  # restored


def test_hessian_of_a_network_loss_with_respect_to_its_first_weights():
    reference, model = reference_and_model()
    x, target = tensor(6, 2, seed=4), tensor(6, 2, seed=5)
    weight = dict(reference.named_parameters())["0.weight"].detach()

    def loss(weight, network, mse):
        output = func.functional_call(network, {"0.weight": weight}, (x,))
        return mse(output, target)

    def torch_loss(weight):
        return torch.nn.functional.mse_loss(
            tf.functional_call(reference, {"0.weight": weight}, (x,)), target
        )

    actual = func.hessian(lambda w: loss(w, model, nn.MSELoss()))(weight)
    expected = tf.hessian(torch_loss)(weight)
    assert actual.shape == (5, 2, 5, 2)
    close(actual, expected)
