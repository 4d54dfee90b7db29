"""ChainOperator: a run of layers recorded as one operator, each layer still its own operator."""

from autogradlib.grad_operator import GradOperator, version_of


class ChainOperator(GradOperator):
    """out = f_k(... f_1(x));  dL/dx and dL/d(parameters) by each stage's pass_grad, last first.

    Operands: x, then every stage's parameters in stage order. Option `stages`: one
    (operator class, parameter count, options) per stage, so that stage i computes
    `operator_class().forward(previous output, *its parameters, **options)`. The stages keep
    their own forward and pass_grad; the chain only saves the engine one operator per layer (about
    6% of a mini-batch step of the reference network, see docs/performance.md).
    """

    label = "Sequential"
    output_view_is_private = True  # a transposed view of the last stage's own product

    def forward(self, x, *parameters, stages):
        self.x, self.parameters = x, parameters  # what create_graph recomputes the stages from
        operators = []
        end = 1  # operand positions: x is operand 0, the parameters follow
        for operator_class, count, options in stages:
            operator = operator_class.__new__(operator_class)
            start, end = end, end + count
            x = operator.forward(x, *parameters[start - 1 : end - 1], **options)
            operators.append((operator, start, end))
        self.operators = operators
        self.stages = stages
        # With tall inputs the output may be a transposed view (see LinearOperator): copying it
        # to torch's layout would cost 5% of a full-batch step, as the loss and this chain's
        # backward would then meet two layouts. Variable.view copies where it must.
        return x

    def pass_grad(self, grad_output):
        needs = self.needs_input_grad
        grads = [None] * len(needs)
        # A stage's input needs a gradient when x or a parameter of an earlier stage does, that
        # is when the first operand that needs one comes before the stage's own parameters.
        first = needs.index(True)
        for operator, start, end in reversed(self.operators):
            operator.needs_input_grad = (first < start, *needs[start:end])
            stage_grads = operator.pass_grad(grad_output)
            grads[start:end] = stage_grads[1:]
            grad_output = stage_grads[0]
            if grad_output is None:
                break  # no earlier stage needs anything
        grads[0] = None if grad_output is None else grad_output.contiguous()
        return tuple(grads)

    def snapshot_saved(self, operands: list, output) -> tuple:
        """The operands and the output: the only tensors a stage may have saved that code outside
        the chain can change (what the stages made inside forward, no one else sees). Cheaper than
        looking through every stage (this runs at every step of a Sequential); a change to one
        that no stage saved (a bias) is let through at backward, where saved_name says None."""
        tensors = [*operands, output]
        return tensors, [*map(version_of, tensors)], operands, output

    def saved_name(self, tensor) -> str | None:
        for index, (operator, _, _) in enumerate(self.operators):
            name = operator.saved_name(tensor)
            if name is not None:
                return f"{name} of its stage {index} ({operator.label})"
        return None

    def pass_grad_recorded(self, grad_output):
        """For create_graph: the stages recorded again as operators of their own from the chain's
        operands (Variables of the graph), then each stage's recorded pass_grad, last first."""
        copy = self.recorded_copy()
        x, parameters = copy.x, copy.parameters
        stages = []
        for (operator_class, _, options), (_, start, end) in zip(
            self.stages, self.operators, strict=True
        ):
            x = operator_class.apply(x, *parameters[start - 1 : end - 1], **options)
            stages.append((x.grad_op, start, end))
        grads = [None] * len(self.needs_input_grad)
        for operator, start, end in reversed(stages):
            if operator is None:
                grad_output = None  # nothing from here back needs a gradient
                break
            stage_grads = operator.pass_grad_recorded(grad_output)
            grads[start:end] = stage_grads[1:]
            grad_output = stage_grads[0]
            if grad_output is None:
                break
        grads[0] = grad_output
        return tuple(grads)

    def release(self) -> None:
        stages = self.stages
        super().release()
        self.stages = stages  # drawing still shows the layers after backward

    def stage_labels(self) -> list[tuple[str, int]]:
        """(label, parameter count) of each stage, in order: what the chain draws as its layers."""
        return [(operator_class.label, count) for operator_class, count, _ in self.stages]
