"""The losses beyond MSE, each one fused operator with its own gradient, as torch computes them.

Every loss here reduces its per-element terms with 'mean', 'sum' or 'none' (see fused.reduce_loss).
Weights (class weights, pos_weight) are constants: like torch, no gradient flows into them.
"""

import torch

from autogradlib import jit_recording
from autogradlib.grad_operator import GradOperator
from autogradlib.operators.fused import DifferenceLossOperator, reduce_loss, reduction_scale

# torch clamps each log of binary_cross_entropy at -100, so a probability of 0 or 1 gives a finite
# loss, and the gradient's denominator x (1 - x) at 1e-12.
LOG_FLOOR = -100.0
BCE_EPSILON = 1e-12


def log_sigmoid(x):
    """log(1 / (1 + exp(-x))) = -log(1 + exp(-x)), without overflow for large |x|."""
    if isinstance(x, torch.Tensor):
        return -torch.logaddexp(torch.zeros((), dtype=x.dtype, device=x.device), -x)
    return -((-x).relu() + (-x.abs()).exp().log1p())  # a Variable, under create_graph


def class_view(weight: torch.Tensor, dims: int) -> torch.Tensor:
    """A (C,) weight shaped (1, C, 1, ...) to multiply a (N, C, d1, ...) tensor of `dims` dims."""
    return weight.reshape((1, -1) + (1,) * (dims - 2))


class BCELossOperator(GradOperator):
    """reduce(-w (y log x + (1 - y) log(1 - x)));  dL/dx = w (x - y) / (x (1 - x)) g,
    dL/dy = -w logit(x) g (each log clamped at -100, the denominator at 1e-12, as torch's)."""

    label = "BCELoss"
    constants = ("weight",)

    def forward(self, x, target, weight=None, reduction="mean"):
        self.x, self.target, self.weight, self.reduction = x, target, weight, reduction
        losses = (target - 1) * torch.log1p(-x).clamp_min(LOG_FLOOR) - target * x.log().clamp_min(
            LOG_FLOOR
        )
        if weight is not None:
            losses = losses * weight
        return reduce_loss(losses, reduction)

    def pass_grad(self, grad_output):
        need_x, need_target = self.needs_input_grad[:2]
        scale = reduction_scale(grad_output, self.x.numel(), self.reduction)
        if self.weight is not None:
            scale = scale * self.weight
        x = self.x
        grad_x = None
        if need_x:
            grad_x = (x - self.target) / ((1 - x) * x).clamp(min=BCE_EPSILON) * scale
        grad_target = None
        if need_target:
            logit = torch.logit(x) if isinstance(x, torch.Tensor) else (x / (1 - x)).log()
            grad_target = -logit * scale
        return grad_x, grad_target


class BCEWithLogitsLossOperator(GradOperator):
    """reduce(w ((1 - y) x - (1 + (p - 1) y) log sigmoid(x)));
    dL/dx = w ((1 + (p - 1) y) sigmoid(x) - p y) g, dL/dy = w (log sigmoid(-x) - p log sigmoid(x)) g
    (p = pos_weight, 1 without it)."""

    label = "BCEWithLogitsLoss"
    constants = ("weight", "pos_weight")

    def forward(self, x, target, weight=None, pos_weight=None, reduction="mean"):
        self.x, self.target, self.reduction = x, target, reduction
        self.weight, self.pos_weight = weight, pos_weight
        self.log_sigmoid = log_sigmoid(x)
        if pos_weight is None:
            losses = (1 - target) * x - self.log_sigmoid
        else:
            log_weight = (pos_weight - 1) * target + 1
            losses = (1 - target) * x - log_weight * self.log_sigmoid
        if weight is not None:
            losses = losses * weight
        return reduce_loss(losses, reduction)

    def rebuild_saved(self):
        """Under create_graph: log sigmoid(x) again from x."""
        self.log_sigmoid = log_sigmoid(self.x)

    def pass_grad(self, grad_output):
        need_x, need_target = self.needs_input_grad[:2]
        scale = reduction_scale(grad_output, self.x.numel(), self.reduction)
        if self.weight is not None:
            scale = scale * self.weight
        x, target, pos_weight = self.x, self.target, self.pos_weight
        grad_x = grad_target = None
        if pos_weight is None:
            if need_x:
                grad_x = (torch.sigmoid(x) - target) * scale
            if need_target:
                grad_target = -x * scale
        else:
            if need_x:
                positive = pos_weight * target
                grad_x = ((positive + 1 - target) * torch.sigmoid(x) - positive) * scale
            if need_target:
                grad_target = (log_sigmoid(-x) - pos_weight * self.log_sigmoid) * scale
        return grad_x, grad_target


class L1LossOperator(DifferenceLossOperator):
    """reduce(|x - y|);  dL/dx = sign(x - y) g, dL/dy = -dL/dx."""

    label = "L1Loss"

    def forward(self, x, target, reduction="mean"):
        self.reduction = reduction
        return reduce_loss(self.keep_difference(x, target).abs(), reduction)

    def pass_grad(self, grad_output):
        scale = reduction_scale(grad_output, self.difference.numel(), self.reduction)
        return self.operand_grads(self.difference.sign() * scale)


class SmoothL1LossOperator(DifferenceLossOperator):
    """reduce(0.5 d^2 / beta if |d| < beta else |d| - 0.5 beta), d = x - y;
    dL/dx = clamp(d / beta, -1, 1) g, dL/dy = -dL/dx  (beta = 0: the L1 loss)."""

    label = "SmoothL1Loss"

    def forward(self, x, target, beta=1.0, reduction="mean"):
        self.beta, self.reduction = beta, reduction
        distance = self.keep_difference(x, target).abs()
        if beta == 0:
            return reduce_loss(distance, reduction)
        losses = torch.where(distance < beta, 0.5 * distance.square() / beta, distance - 0.5 * beta)
        return reduce_loss(losses, reduction)

    def pass_grad(self, grad_output):
        scale = reduction_scale(grad_output, self.difference.numel(), self.reduction)
        if self.beta == 0:
            slope = self.difference.sign()
        else:
            slope = (self.difference / self.beta).clamp(-1, 1)
        return self.operand_grads(slope * scale)


class HuberLossOperator(DifferenceLossOperator):
    """reduce(0.5 d^2 if |d| < delta else delta (|d| - 0.5 delta)), d = x - y;
    dL/dx = clamp(d, -delta, delta) g, dL/dy = -dL/dx."""

    label = "HuberLoss"

    def forward(self, x, target, delta=1.0, reduction="mean"):
        self.delta, self.reduction = delta, reduction
        distance = self.keep_difference(x, target).abs()
        losses = torch.where(
            distance < delta, 0.5 * distance.square(), delta * (distance - 0.5 * delta)
        )
        return reduce_loss(losses, reduction)

    def pass_grad(self, grad_output):
        scale = reduction_scale(grad_output, self.difference.numel(), self.reduction)
        return self.operand_grads(self.difference.clamp(-self.delta, self.delta) * scale)


class ClassTargets:
    """Class indices y of shape (N, d1, ...): where they index, and each position's weight w[y],
    0 where y is ignore_index (weights None: all 1)."""

    def __init__(self, target, weight, ignore_index: int, dtype: torch.dtype) -> None:
        ignored = target == ignore_index
        # On the CPU, asking whether any position is ignored is cheap, and the usual answer (none)
        # saves the masking; on a GPU it would wait for the device, so there the mask is applied.
        # Under autogradlib.jit the answer would be frozen into the replay: always mask there.
        if (
            target.device.type == "cpu"
            and not jit_recording.recording()
            and not bool(ignored.any())
        ):
            self.kept = None
            self.index = target.unsqueeze(1)
            self.weights = None if weight is None else weight[target]
        else:
            # Ignored positions read class 0 (any valid index) and then count for nothing.
            index = target.masked_fill(ignored, 0)
            self.index = index.unsqueeze(1)
            self.kept = (~ignored).to(dtype)
            self.weights = self.kept if weight is None else weight[index] * self.kept
        # The mean's denominator: the sum of the weights of the positions that count.
        self.total = target.numel() if self.weights is None else self.weights.sum()

    def weighted(self, values):
        """values * w[y], position by position."""
        return values if self.weights is None else values * self.weights


class NLLLossOperator(GradOperator):
    """reduce(-w[y] x[y]) over positions, the mean divided by sum of w[y];
    dL/dx = -w[y] g at class y, 0 elsewhere.  x: log-probabilities (N, C, d1, ...)."""

    label = "NLLLoss"

    def forward(self, x, target, weight=None, ignore_index=-100, reduction="mean"):
        self.shape, self.dtype, self.reduction = x.shape, x.dtype, reduction
        self.classes = targets = ClassTargets(target, weight, ignore_index, x.dtype)
        losses = targets.weighted(-x.gather(1, targets.index).squeeze(1))
        if reduction == "mean":
            return losses.sum() / targets.total
        return reduce_loss(losses, reduction)

    def pass_grad(self, grad_output):
        targets = self.classes
        scale = grad_output / targets.total if self.reduction == "mean" else grad_output
        values = targets.weighted(-scale).expand(targets.index.shape[:1] + targets.index.shape[2:])
        values = values.unsqueeze(1).to(self.dtype)
        if not isinstance(values, torch.Tensor):
            # Under create_graph: -w[y] g at class y, a constant one-hot pattern times g.
            picked = torch.zeros(self.shape, dtype=self.dtype, device=values.device)
            return picked.scatter_(1, targets.index, 1.0) * values, None
        grad_x = torch.zeros(self.shape, dtype=self.dtype, device=values.device)
        return grad_x.scatter_(1, targets.index, values), None


class CrossEntropyLossOperator(GradOperator):
    """reduce(-sum_c q_c log_softmax(x)_c) over positions;  dL/dx = (softmax(x) sum(q) - q) g / n.

    x: logits (N, C, d1, ...). q is the target as a distribution over the C classes: for class
    indices y, (1 - eps) w[y] at y plus eps / C * w (0 where y is ignore_index), and the mean
    divides by sum of w[y]; for class probabilities t, ((1 - eps) t + eps / C) w, and the mean
    divides by the number of positions (eps = label_smoothing, w = the class weights or 1).
    """

    label = "CrossEntropyLoss"
    # q is rebuilt from the target when the target is an operand; total counts class weights.
    constants = ("weight", "q", "total")

    def forward(
        self, logits, target, weight=None, ignore_index=-100, label_smoothing=0.0, reduction="mean"
    ):
        self.logits, self.target = logits, target  # what create_graph rebuilds the rest from
        self.log_probabilities = log_probabilities = logits.log_softmax(1)
        self.reduction, self.smoothing, self.weight = reduction, label_smoothing, weight
        self.probabilities_target = target.is_floating_point()
        self.count = log_probabilities.numel() // log_probabilities.shape[1]
        if self.probabilities_target:
            self.q = self._smoothed(target)
            self.total = self.count
        else:
            self.classes = ClassTargets(target, weight, ignore_index, logits.dtype)
            self.total = self.classes.total
            # The usual case, class indices alone, needs no dense q: a gather and a scatter do.
            self.q = None
            if weight is not None or label_smoothing:
                self.q = self._class_distribution()
        if self.q is None:
            picked = log_probabilities.gather(1, self.classes.index).squeeze(1)
            losses = self.classes.weighted(-picked)
        else:
            losses = -(self.q * log_probabilities).sum(1)
        if reduction == "mean":
            return losses.sum() / self.total
        return reduce_loss(losses, reduction)

    def rebuild_saved(self):
        """Under create_graph: log_softmax(x), and q from a target of probabilities, again from
        the operands (Variables); class indices get a dense q, which pass_grad then uses."""
        self.log_probabilities = self.logits.log_softmax(1)
        if self.probabilities_target:
            self.q = self._smoothed(self.target)
        elif self.q is None:
            self.q = self._class_distribution()

    def _smoothed(self, target):
        """((1 - eps) t + eps / C) w for a target of class probabilities t."""
        classes = self.log_probabilities.shape[1]
        if self.smoothing:
            target = target * (1 - self.smoothing) + self.smoothing / classes
        if self.weight is not None:
            target = target * class_view(self.weight, target.dim())
        return target

    def _class_distribution(self):
        """(1 - eps) w[y] one-hot at y + eps / C * w, zero at ignored positions."""
        log_probabilities = self.log_probabilities
        classes = self.classes
        q = torch.zeros(
            log_probabilities.shape, dtype=log_probabilities.dtype, device=log_probabilities.device
        )
        if classes.weights is None:
            q.scatter_(1, classes.index, 1 - self.smoothing)
        else:
            q.scatter_(1, classes.index, ((1 - self.smoothing) * classes.weights).unsqueeze(1))
        if self.smoothing:
            spread = self.smoothing / q.shape[1]
            if self.weight is not None:
                spread = spread * class_view(self.weight, q.dim())
            if classes.kept is not None:
                spread = spread * classes.kept.unsqueeze(1)
            q = q + spread
        return q

    def pass_grad(self, grad_output):
        need_logits, need_target = self.needs_input_grad[:2]
        if self.reduction == "mean":
            scale = grad_output / self.total
        elif self.reduction == "none":
            scale = grad_output.unsqueeze(1)
        else:
            scale = grad_output
        grad_logits = self._grad_logits() * scale if need_logits else None
        grad_target = None
        if need_target:
            grad_target = -self.log_probabilities * ((1 - self.smoothing) * scale)
            if self.weight is not None:
                grad_target = grad_target * class_view(self.weight, grad_target.dim())
        return grad_logits, grad_target

    def _grad_logits(self):
        """d(loss term)/d(logits): softmax(x) * sum(q) - q, q one-hot for class indices alone."""
        probabilities = self.log_probabilities.exp()
        if self.q is not None:
            return probabilities * self.q.sum(1, keepdim=True) - self.q
        index = self.classes.index
        difference = probabilities.scatter_add(1, index, probabilities.new_full(index.shape, -1.0))
        weights = self.classes.weights
        return difference if weights is None else difference * weights.unsqueeze(1)
