"""Gradient hooks on Variables: fn(grad) runs when the Variable's gradient is computed.

A leaf's hooks live here, keyed by the leaf's id (and dropped when the leaf dies); an intermediate
Variable's live on the operator that produced it. The engine looks at neither when none is
registered, so unused hooks cost one truth test per leaf gradient.
"""

import itertools
import weakref

leaf_hooks: dict = {}  # id(leaf Variable) -> {handle id: fn}
_handle_ids = itertools.count()


class RemovableHandle:
    """What register_hook returns: `.remove()` unregisters the hook (a second remove is a no-op)."""

    def __init__(self, hooks: dict, key: int) -> None:
        self.hooks = hooks
        self.key = key

    def remove(self) -> None:
        self.hooks.pop(self.key, None)

    def __enter__(self) -> "RemovableHandle":
        return self

    def __exit__(self, *exc_info) -> None:
        self.remove()


def register_hook(variable, fn) -> RemovableHandle:
    """Run fn(grad) whenever `variable`'s gradient is computed; a non-None result replaces it."""
    if not callable(fn):
        raise TypeError(f"register_hook: expected a callable, got {type(fn).__name__}")
    if not variable.requires_grad:
        from autogradlib.errors import GraphError

        raise GraphError(
            "register_hook: cannot register a hook on a Variable that does not require grad"
        )
    key = next(_handle_ids)
    operator = variable.grad_op
    if operator is None:
        hooks = leaf_hooks.get(id(variable))
        if hooks is None:
            hooks = leaf_hooks[id(variable)] = {}
            weakref.finalize(variable, leaf_hooks.pop, id(variable), None)
    else:
        hooks = operator.hooks
        if hooks is None:
            hooks = operator.hooks = {}
    hooks[key] = fn
    return RemovableHandle(hooks, key)


def run_hooks(hooks: dict, grad):
    """Each hook in registration order, on the previous one's result where it returned one."""
    for fn in list(hooks.values()):
        result = fn(grad)
        if result is not None:
            grad = result
    return grad


def run_leaf_hooks(leaf, grad):
    hooks = leaf_hooks.get(id(leaf))
    return grad if not hooks else run_hooks(hooks, grad)


def run_operator_hooks(operator, grad):
    return run_hooks(operator.hooks, grad) if operator.hooks else grad
