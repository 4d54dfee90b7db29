"""draw_graph: a Variable's graph as a graphviz.Digraph, in torchviz's conventions.

Data flows from the leaves (light blue, named, with their shape) through the operators (grey
boxes; yellow, marked `(in ReLUBackward)`, when a backward with create_graph=True recorded them)
to the output (green); the layers of a chain (a Sequential recorded as one operator) are
drawn one by one inside a dashed box. Building the Digraph needs no Graphviz binary; rendering
does.
"""

import graphviz

from autogradlib.operators.chain import ChainOperator
from autogradlib.variable import Variable

LEAF_COLOR = "lightblue"
OPERATOR_COLOR = "lightgrey"
OUTPUT_COLOR = "darkolivegreen1"
BACKWARD_COLOR = "khaki1"  # operators that a backward recorded (create_graph=True)


def shape_text(variable) -> str:
    return "(" + ", ".join(str(size) for size in variable.shape) + ")"


def draw_graph(output, params: dict | None = None) -> graphviz.Digraph:
    """Draw every operator and leaf that `output` depends on; `params` maps names to leaves."""
    names = {id(variable): name for name, variable in (params or {}).items()}
    dot = graphviz.Digraph(
        name="autogradlib",
        node_attr={"shape": "box", "style": "filled", "fontsize": "12", "height": "0.2"},
        graph_attr={"size": "12,12"},
    )
    output_id = f"output_{id(output)}"
    dot.node(output_id, f"output\n{shape_text(output)}", fillcolor=OUTPUT_COLOR)
    if output.grad_op is None:
        return dot
    dot.edge(exit_id(output.grad_op), output_id)
    seen = {id(output.grad_op)}
    stack = [output.grad_op]
    while stack:
        operator = stack.pop()
        targets = draw_operator(dot, operator)
        for source, target in zip(operator.sources(), targets, strict=True):
            if source is None:
                continue
            if isinstance(source, Variable):
                source_id = f"leaf_{id(source)}"
                if id(source) not in seen:
                    seen.add(id(source))
                    name = names.get(id(source), source.name) or ""
                    label = f"{name}\n{shape_text(source)}".strip()
                    dot.node(source_id, label, fillcolor=LEAF_COLOR)
            else:
                source_id = exit_id(source)
                if id(source) not in seen:
                    seen.add(id(source))
                    stack.append(source)
            dot.edge(source_id, target)
    return dot


def draw_operator(dot: graphviz.Digraph, operator) -> list[str]:
    """Draw `operator`'s node, or its chain of stage nodes; return the node each operand enters."""
    node_id = str(id(operator))
    if operator.backward_of is not None:
        # Recorded by a backward: named after the operator whose gradient it computes.
        label = f"{operator.label}\n(in {operator.backward_of}Backward)"
        dot.node(node_id, label, fillcolor=BACKWARD_COLOR)
        return [node_id] * len(operator.sources())
    if not isinstance(operator, ChainOperator):
        dot.node(node_id, operator.label, fillcolor=OPERATOR_COLOR)
        return [node_id] * len(operator.sources())
    targets = []
    with dot.subgraph(name=f"cluster_{node_id}") as box:
        box.attr(label=operator.label, style="dashed")
        previous = None
        for index, (label, count) in enumerate(operator.stage_labels()):
            stage_id = f"{node_id}_{index}"
            box.node(stage_id, label, fillcolor=OPERATOR_COLOR)
            if previous is None:
                targets.append(stage_id)  # the chain's input enters its first stage
            else:
                box.edge(previous, stage_id)
            targets += [stage_id] * count  # each stage's parameters enter that stage
            previous = stage_id
    return targets


def exit_id(operator) -> str:
    """The node that `operator`'s output leaves from: its own, or its chain's last stage."""
    if isinstance(operator, ChainOperator):
        return f"{id(operator)}_{len(operator.stage_labels()) - 1}"
    return str(id(operator))
