"""Reductions and normalisations: sum, mean, prod, max / min, norms, cumsum, (log-)softmax."""

import torch

from autogradlib.grad_operator import GradOperator
from autogradlib.operators.pointwise import data, where


def reduced_dims(dim, ndim: int) -> list:
    """The non-negative, sorted dimensions named by `dim` (an int, a sequence, or None for all)."""
    if dim is None or ndim == 0:
        # A 0-d tensor accepts dim 0 or -1, but has no dimension to put back.
        return list(range(ndim))
    dims = [dim] if isinstance(dim, int) else list(dim)
    return sorted(d % ndim for d in dims)


def expand_back(grad_output, shape, dims: list, keepdim: bool):
    """Undo a reduction over `dims`: put the reduced dimensions back, then broadcast to `shape`."""
    if not keepdim:
        for dim in dims:
            grad_output = grad_output.unsqueeze(dim)
    return grad_output.expand(shape)


class SumOperator(GradOperator):
    """sum of a over `dim`;  dL/da = dL/d(out), broadcast back over the summed dimensions."""

    def forward(self, a, dim=None, keepdim=False):
        self.shape, self.keepdim = a.shape, keepdim
        self.dims = reduced_dims(dim, a.dim())
        return a.sum(dim=dim, keepdim=keepdim)

    def pass_grad(self, grad_output):
        return (expand_back(grad_output, self.shape, self.dims, self.keepdim),)


class MeanOperator(GradOperator):
    """mean of a over `dim`;  dL/da = dL/d(out) / n, broadcast back over the n averaged elements."""

    def forward(self, a, dim=None, keepdim=False):
        self.shape, self.keepdim = a.shape, keepdim
        self.dims = reduced_dims(dim, a.dim())
        output = a.mean(dim=dim, keepdim=keepdim)
        self.count = max(a.numel() // max(output.numel(), 1), 1) if a.numel() else 0
        return output

    def pass_grad(self, grad_output):
        grad = expand_back(grad_output / self.count, self.shape, self.dims, self.keepdim)
        return (grad,)


class MaxOperator(GradOperator):
    """max of all of a;  dL/da = dL/d(out) shared evenly among the elements equal to the max."""

    label = "Max"
    reduce = staticmethod(torch.max)

    def forward(self, a):
        self.a = a
        self.output = self.reduce(a)
        return self.output

    def pass_grad(self, grad_output):
        a, output = data(self.a), data(self.output)
        # A NaN is the max (and the min) but equals nothing: PyTorch shares among the NaNs.
        winners = (a == output) | (a.isnan() & output.isnan())
        return (winners * (grad_output / winners.sum()),)


class MinOperator(MaxOperator):
    """min of all of a;  dL/da = dL/d(out) shared evenly among the elements equal to the min."""

    label = "Min"
    reduce = staticmethod(torch.min)


class MaxAlongOperator(GradOperator):
    """a.gather(dim, argmax), the maxima along dim;  dL/da = dL/d(out) at the argmax positions."""

    label = "Max"

    def forward(self, a, dim, indices, keepdim=False):
        self.shape, self.dim, self.indices, self.keepdim = a.shape, dim, indices, keepdim
        output = a.gather(dim, indices)
        return output if keepdim else output.squeeze(dim)

    def pass_grad(self, grad_output):
        if not self.keepdim:
            grad_output = grad_output.unsqueeze(self.dim)
        if isinstance(grad_output, torch.Tensor):
            return (grad_output.new_zeros(self.shape).scatter(self.dim, self.indices, grad_output),)
        # Recorded (create_graph): the one-hot mask of the argmax positions times the gradient.
        mask = torch.zeros(self.shape, dtype=grad_output.dtype, device=grad_output.device)
        return (mask.scatter_(self.dim, self.indices, 1.0) * grad_output,)


class MinAlongOperator(MaxAlongOperator):
    """a.gather(dim, argmin), the minima along dim;  dL/da = dL/d(out) at the argmin positions."""

    label = "Min"


class SoftmaxOperator(GradOperator):
    """exp(a) / sum(exp(a)) along dim;  dL/da = out * (dL/d(out) - sum(dL/d(out) * out))."""

    def forward(self, a, dim):
        self.dim = dim
        if a.dim() and dim % a.dim() == a.dim() - 1 and a.shape[-1] <= 16 and a.numel() >= 512:
            # torch's kernel pays per row along a short last dimension (50 us for 1000 rows of
            # 2); the same stable formula in four whole-tensor operations pays per element.
            exponentials = (a - a.amax(dim, keepdim=True)).exp_()
            self.output = exponentials.div_(exponentials.sum(dim, keepdim=True))
        else:
            self.output = a.softmax(dim)
        return self.output

    def pass_grad(self, grad_output):
        weighted = grad_output * self.output
        # In place into `weighted`, which is this operator's own: one tensor fewer.
        return (weighted.addcmul_(self.output, weighted.sum(self.dim, keepdim=True), value=-1),)

    def pass_grad_on_variables(self, grad_output):
        weighted = grad_output * self.output
        return (weighted - self.output * weighted.sum(self.dim, keepdim=True),)


class LogSoftmaxOperator(GradOperator):
    """a - log(sum(exp(a))) along dim;  dL/da = dL/d(out) - exp(out) * sum(dL/d(out))."""

    def forward(self, a, dim):
        self.dim = dim
        self.output = a.log_softmax(dim)
        return self.output

    def pass_grad(self, grad_output):
        total = grad_output.sum(self.dim, keepdim=True)
        return (grad_output - self.output.exp() * total,)


class NormOperator(GradOperator):
    """(sum |a|**p)**(1/p) over `dim` (max |a| for p = inf);
    dL/da = dL/d(out) * sign(a) * |a|**(p-1) / out**(p-1)  (0 where out = 0)."""

    def forward(self, a, p=2.0, dim=None, keepdim=False):
        if not isinstance(p, (int, float)) or isinstance(p, bool) or p < 0:
            raise ValueError(f"norm: p must be a non-negative number or inf, got {p!r}")
        self.a, self.p, self.keepdim = a, p, keepdim
        self.dims = reduced_dims(dim, a.dim())
        self.output = torch.linalg.vector_norm(a, p, dim, keepdim)
        return self.output

    def pass_grad(self, grad_output):
        a, p = self.a, self.p
        output = expand_back(self.output, a.shape, self.dims, self.keepdim)
        grad_output = expand_back(grad_output, a.shape, self.dims, self.keepdim)
        if p == 0:
            return (torch.zeros_like(a),)
        if p == 1:
            return (grad_output * a.sign(),)
        if p == float("inf"):
            # As PyTorch: the gradient is shared evenly among the elements of largest magnitude.
            winners = a.abs() == output
            count = winners.sum(self.dims, keepdim=True) if self.dims else winners
            return (grad_output * a.sign() * winners / count,)
        scaled = a / output if p == 2 else a.sign() * a.abs().pow(p - 1) / output.pow(p - 1)
        # A zero norm (all of a is 0) has gradient 0 there, as in PyTorch, not 0/0.
        return (torch.where(output == 0, 0.0, grad_output * scaled),)


class CumsumOperator(GradOperator):
    """running sums of a along dim;  dL/da = running sums of dL/d(out) from the end."""

    def forward(self, a, dim):
        self.dim = dim
        return a.cumsum(dim)

    def pass_grad(self, grad_output):
        dim = self.dim
        if isinstance(grad_output, torch.Tensor):
            return (grad_output.flip(dim).cumsum(dim).flip(dim),)
        # Recorded (create_graph): flipped by indexing with the positions in reverse.
        reverse = (slice(None),) * (dim % grad_output.dim())
        reverse += (torch.arange(grad_output.shape[dim] - 1, -1, -1),)
        return (grad_output[reverse].cumsum(dim)[reverse],)


class ProdOperator(GradOperator):
    """product of a over dim (all elements by default);  dL/da_i = dL/d(out) * prod_(j != i) a_j."""

    def forward(self, a, dim=None, keepdim=False):
        self.a, self.dim, self.keepdim = a, dim, keepdim
        return a.prod() if dim is None else a.prod(dim, keepdim)

    def pass_grad(self, grad_output):
        a, dim = self.a, self.dim
        values = a.reshape(-1) if dim is None else a
        axis = 0 if dim is None else dim % max(a.dim(), 1)
        if dim is not None and not self.keepdim and a.dim():
            grad_output = grad_output.unsqueeze(axis)
        if not isinstance(grad_output, torch.Tensor) and values.dim():
            return ((grad_output * products_of_the_others(values, axis)).reshape(a.shape),)
        # The products of the elements before and after each one: exact where a has zeros,
        # where out / a_i would be 0/0.
        ones = values.narrow(axis, 0, 1).clone().fill_(1) if values.numel() else values
        size = values.shape[axis] if values.dim() else 1
        before = torch.cat([ones, values.narrow(axis, 0, size - 1)], axis).cumprod(axis)
        after = torch.cat([values.narrow(axis, 1, size - 1), ones], axis)
        after = after.flip(axis).cumprod(axis).flip(axis)
        return ((grad_output * before * after).reshape(a.shape),)


def products_of_the_others(values, axis: int):
    """prod_(j != i) a_j along axis for each a_i, as one recorded product over a copy of the
    values per position with a 1 in its own place (create_graph; exact where a has zeros)."""
    size = values.shape[axis]
    moved = values.transpose(axis, -1)
    rows = moved.unsqueeze(-2).expand(*moved.shape[:-1], size, size)
    own_place = torch.eye(size, dtype=torch.bool, device=values.device)
    return where(own_place, 1.0, rows).prod(-1).transpose(axis, -1)
