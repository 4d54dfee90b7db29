"""Normalisation: batch norm (over the batch, per channel) and layer norm (over the last dims),
each one fused operator with a hand-written backward."""

import torch

from autogradlib.grad_mode import is_grad_enabled
from autogradlib.grad_operator import GradOperator


class BatchNormOperator(GradOperator):
    """w (x - mean) / sqrt(var + eps) + b per channel (dim 1);  with x^ the normalised input,
    g = dL/d(out) and n values per channel, in training dL/dx = w / sqrt(var + eps) *
    (g - mean(g) - x^ mean(g x^)), dL/dw = sum(g x^), dL/db = sum(g).

    Training uses the batch's statistics and, when running_mean / running_var are given, updates
    them in place (running = (1 - momentum) running + momentum batch, the variance unbiased);
    otherwise the running statistics are constants and dL/dx = g w / sqrt(var + eps).
    """

    label = "BatchNorm"
    # Rebuilt by rebuild_saved where x needs a gradient; else constants (in eval, the running
    # statistics and invstd always are).
    constants = ("centered", "invstd", "scale", "mean")

    def forward(
        self,
        x,
        weight=None,
        bias=None,
        running_mean=None,
        running_var=None,
        training=True,
        momentum=0.1,
        eps=1e-5,
    ):
        stat_shape = (x.shape[1],) + (1,) * (x.dim() - 2)
        if training:
            # Two passes (the mean, then the mean square of x - mean) rather than torch.var_mean,
            # whose Welford reduction is several times slower on the CPU.
            mean = channel_sum(x) / (x.numel() // x.shape[1])
            centered = x - mean.view(stat_shape)
            var = channel_sum(centered * centered) / (x.numel() // x.shape[1])
            if running_mean is not None:
                count = x.numel() // x.shape[1]
                running_mean.mul_(1 - momentum).add_(mean, alpha=momentum)
                running_var.mul_(1 - momentum).add_(var, alpha=momentum * count / (count - 1))
        else:
            mean, var = running_mean, running_var
            centered = x - mean.view(stat_shape)
        invstd = (var + eps).rsqrt()
        scale = invstd if weight is None else invstd * weight
        if is_grad_enabled():
            self.centered, self.invstd, self.scale = centered, invstd, scale
            self.training = training
            # What create_graph rebuilds the rest from: x is centered + mean (not kept itself,
            # which would cost an activation's memory), a running mean is copied (training
            # changes it).
            self.mean = mean if training else mean.clone()
            self.weight, self.eps = weight, eps
            output = centered * scale.view(stat_shape)
        else:
            # Nothing will be recorded, so nothing is saved and the output is written over
            # x - mean: one new tensor the size of x rather than two (an eval pass's peak).
            output = centered.mul_(scale.view(stat_shape))
        # In place, and not one addcmul: with two broadcast operands that is many times slower.
        return output if bias is None else output.add_(bias.view(stat_shape))

    def rebuild_saved(self):
        """Under create_graph: x - mean, 1 / sqrt(var + eps) and the scale again from x (the
        batch's statistics) or the running statistics (constants), and the weight."""
        stat_shape = (self.centered.shape[1],) + (1,) * (self.centered.dim() - 2)
        x = self.recorded_operand(0, self.centered + self.mean.view(stat_shape))
        if x is not None and self.training:
            count = x.numel() // x.shape[1]
            self.mean = channel_sum(x) / count
            self.centered = x - self.mean.view(stat_shape)
            var = channel_sum(self.centered * self.centered) / count
            self.invstd = (var + self.eps).rsqrt()
        elif x is not None:
            self.centered = x - self.mean.view(stat_shape)
        self.scale = self.invstd if self.weight is None else self.invstd * self.weight

    def pass_grad(self, grad_output):
        needs = self.needs_input_grad
        centered, invstd, scale = self.centered, self.invstd, self.scale
        stat_shape = (centered.shape[1],) + (1,) * (centered.dim() - 2)
        sum_grad = channel_sum(grad_output)
        # sum(g x^) = invstd * sum(g (x - mean)), without materialising x^.
        sum_grad_normalised = invstd * channel_sum(grad_output * centered)
        grad_x = None
        if needs[0]:
            grad_x = grad_output * scale.view(stat_shape)
            if self.training:
                # w invstd (g - mean(g) - x^ mean(g x^)), as g a + (x - mean) b + c per channel.
                count = grad_output.numel() // grad_output.shape[1]
                b = scale * invstd * sum_grad_normalised / -count
                shift = (scale * sum_grad / -count).view(stat_shape)
                if isinstance(grad_x, torch.Tensor):
                    grad_x.add_(shift)
                    grad_x.addcmul_(centered, b.view(stat_shape))
                else:  # recorded (create_graph)
                    grad_x = grad_x + shift + centered * b.view(stat_shape)
        if len(needs) == 1:
            return (grad_x,)
        grad_weight = sum_grad_normalised if needs[1] else None
        if len(needs) == 2:
            return grad_x, grad_weight
        return grad_x, grad_weight, sum_grad if needs[2] else None


def channel_sum(t):
    """Sum over every dim but 1 (the channels)."""
    if t.dim() > 2 and isinstance(t, torch.Tensor) and t.is_contiguous():
        # Over the batch first, as rows of N x (C L), then over L: up to twice as fast on the CPU
        # as one reduction over dims (0, 2, ...) when L is small.
        rows = t.reshape(t.shape[0], -1).sum(0)
        return rows.view(t.shape[1], -1).sum(1)
    return t.sum((0, *range(2, t.dim())))


class LayerNormOperator(GradOperator):
    """w (x - mean) / sqrt(var + eps) + b over the last `dims` dims;  with x^ the normalised
    input and g' = g w, dL/dx = (g' - mean(g') - x^ mean(g' x^)) / sqrt(var + eps),
    dL/dw = g x^, dL/db = g (summed back over the leading dims by the engine)."""

    label = "LayerNorm"
    constants = ("mean", "invstd", "normalised")  # rebuilt where x needs a gradient

    def forward(self, x, weight=None, bias=None, dims=1, eps=1e-5):
        self.dims = tuple(range(x.dim() - dims, x.dim()))
        self.eps, self.weight = eps, weight
        self.normalise(x)
        output = self.normalised if weight is None else self.normalised * weight
        return output if bias is None else output + bias

    def normalise(self, x):
        """Keep the mean, 1 / sqrt(var + eps) and x^ = (x - mean) / sqrt(var + eps) on self."""
        # Two passes, as in BatchNormOperator: faster than torch.var_mean on the CPU.
        self.mean = x.mean(self.dims, keepdim=True)
        centered = x - self.mean
        var = (centered * centered).mean(self.dims, keepdim=True)
        self.invstd = (var + self.eps).rsqrt()
        self.normalised = centered * self.invstd

    def rebuild_saved(self):
        """Under create_graph: the statistics and x^ again from x = x^ / invstd + mean (x itself
        is not kept: it would cost an activation's memory)."""
        x = self.recorded_operand(0, self.normalised / self.invstd + self.mean)
        if x is not None:
            self.normalise(x)

    def pass_grad(self, grad_output):
        needs = self.needs_input_grad
        normalised, dims = self.normalised, self.dims
        grad_x = None
        if needs[0]:
            grad = grad_output if self.weight is None else grad_output * self.weight
            grad_x = (
                grad
                - grad.mean(dims, keepdim=True)
                - normalised * (grad * normalised).mean(dims, keepdim=True)
            ) * self.invstd
        if len(needs) == 1:
            return (grad_x,)
        grad_weight = grad_output * normalised if needs[1] else None
        if len(needs) == 2:
            return grad_x, grad_weight
        return grad_x, grad_weight, grad_output if needs[2] else None
