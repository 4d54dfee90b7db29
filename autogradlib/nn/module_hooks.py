"""A Module's hooks, as PyTorch's: forward pre-hooks, forward hooks and full backward hooks.

Module.__call__ goes straight to forward while a module has none (one attribute test); only a
module with hooks pays for `call_with_hooks`. A full backward hook sees the gradients with
respect to the module's input and output: the input and the output pass through an identity
operator each, whose pass_grad collects the output's gradient and then calls the hooks with the
input's (an inner module's identity operators lie inside its parent's, so its hooks fire first).
"""

from autogradlib.grad_operator import GradOperator
from autogradlib.hooks import RemovableHandle, _handle_ids
from autogradlib.variable import Variable


class ModuleHooks:
    """The hooks registered on one module, each a dict {handle id: fn} in registration order."""

    def __init__(self) -> None:
        self.forward_pre: dict = {}
        self.forward: dict = {}
        self.backward: dict = {}

    def add(self, kind: str, fn) -> RemovableHandle:
        if not callable(fn):
            raise TypeError(f"register hook: expected a callable, got {type(fn).__name__}")
        hooks = getattr(self, kind)
        key = next(_handle_ids)
        hooks[key] = fn
        return RemovableHandle(hooks, key)


def call_with_hooks(module, args: tuple, kwargs: dict):
    """module.forward(*args, **kwargs) with its hooks, in PyTorch's order."""
    hooks = module._hooks
    for fn in list(hooks.forward_pre.values()):
        result = fn(module, args)
        if result is not None:
            args = result if isinstance(result, tuple) else (result,)
    call = None
    if hooks.backward:
        call = BackwardHookCall(module, hooks.backward, args)
        args = call.wrap_inputs(args)
    output = module.forward(*args, **kwargs)
    for fn in list(hooks.forward.values()):
        result = fn(module, args, output)
        if result is not None:
            output = result
    if call is not None:
        output = call.wrap_output(output)
    return output


class BackwardHookCall:
    """One call of a module with full backward hooks: where the output's gradient waits for the
    input's, so that the hooks see both."""

    def __init__(self, module, hooks: dict, args: tuple) -> None:
        self.module, self.hooks = module, hooks
        self.grad_output = None
        self.input_requires_grad = False
        variables = [arg for arg in args if isinstance(arg, Variable)]
        if len(variables) != 1:
            raise NotImplementedError(
                f"{type(module).__name__}: register_full_backward_hook supports modules called "
                f"with one Variable input, this call has {len(variables)}"
            )

    def wrap_inputs(self, args: tuple) -> tuple:
        wrapped = []
        for arg in args:
            if isinstance(arg, Variable) and arg.requires_grad:
                self.input_requires_grad = True
                arg = BackwardHookOperator.apply(arg, call=self, role="input")
            wrapped.append(arg)
        return tuple(wrapped)

    def wrap_output(self, output):
        if not isinstance(output, Variable) or not output.requires_grad:
            return output
        return BackwardHookOperator.apply(output, call=self, role="output")

    def output_grad(self, grad):
        self.grad_output = grad
        if not self.input_requires_grad:
            self.run_hooks(None)
        return grad

    def input_grad(self, grad):
        return self.run_hooks(grad)

    def run_hooks(self, grad_input):
        for fn in list(self.hooks.values()):
            result = fn(self.module, (grad_input,), (self.grad_output,))
            if result is not None:
                grad_input = result[0] if isinstance(result, tuple | list) else result
        return grad_input


class BackwardHookOperator(GradOperator):
    """The identity, a module's input or output;  dL/da = dL/d(out), shown to the module's full
    backward hooks on the way."""

    label = "BackwardHook"

    def forward(self, a, call, role):
        self.call, self.role = call, role
        return a

    def pass_grad(self, grad_output):
        if self.role == "output":
            return (self.call.output_grad(grad_output),)
        return (self.call.input_grad(grad_output),)
