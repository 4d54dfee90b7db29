"""draw_graph: a Variable's graph as a graphviz.Digraph, in torchviz's conventions.

Data flows from the leaves (light blue, named, with their shape) through the operators (grey
boxes) to the output (green). Building the Digraph needs no Graphviz binary; rendering does.
"""

import graphviz

from autogradlib.variable import Variable

LEAF_COLOR = "lightblue"
OPERATOR_COLOR = "lightgrey"
OUTPUT_COLOR = "darkolivegreen1"


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
    dot.edge(str(id(output.grad_op)), output_id)
    seen = {id(output.grad_op)}
    stack = [output.grad_op]
    while stack:
        operator = stack.pop()
        dot.node(str(id(operator)), operator.label, fillcolor=OPERATOR_COLOR)
        for source in operator.sources():
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
                source_id = str(id(source))
                if id(source) not in seen:
                    seen.add(id(source))
                    stack.append(source)
            dot.edge(source_id, str(id(operator)))
    return dot
