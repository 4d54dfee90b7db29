"""draw_graph: torchviz's conventions in the DOT source, and a rendered file where dot exists."""

import re
import shutil

import graphviz
import pytest
import torch

import autogradlib
from autogradlib import Variable

NODE = re.compile(r'^\t(\S+) \[label=("[^"]*"|\S+) fillcolor=(\S+)\]', re.MULTILINE)
EDGE = re.compile(r"^\t(\S+) -> (\S+)$", re.MULTILINE)


def nodes(dot: graphviz.Digraph) -> dict:
    """Node id -> (label, fill colour), read back from the DOT source."""
    return {
        node_id: (label.strip('"'), color) for node_id, label, color in NODE.findall(dot.source)
    }


def edges(dot: graphviz.Digraph) -> list:
    """Every edge as (source label, target label)."""
    labels = {node_id: label for node_id, (label, _) in nodes(dot).items()}
    return [(labels[source], labels[target]) for source, target in EDGE.findall(dot.source)]


def seed_graph() -> graphviz.Digraph:
    x = Variable(torch.randn(3, 3))
    y = x.t() - x.exp()
    z = y.pow(2).sum()
    return z.draw_graph()


def test_seed_example_is_a_digraph_naming_every_operator():
    dot = seed_graph()
    assert isinstance(dot, graphviz.Digraph)
    operators = sorted(label for label, color in nodes(dot).values() if color == "lightgrey")
    assert operators == ["Exp", "Pow", "Sub", "Sum", "Transpose"]


def test_seed_example_colours_the_leaf_light_blue_and_the_output_green():
    drawn = nodes(seed_graph())
    colors = {label: color for label, color in drawn.values()}
    assert colors["(3, 3)"] == "lightblue"
    assert colors["output\n()"] == "darkolivegreen1"
    assert len(drawn) == 7


def test_seed_example_data_flows_from_leaf_through_operators_to_output():
    assert sorted(edges(seed_graph())) == [
        ("(3, 3)", "Exp"),
        ("(3, 3)", "Transpose"),
        ("Exp", "Sub"),
        ("Pow", "Sum"),
        ("Sub", "Pow"),
        ("Sum", "output\n()"),
        ("Transpose", "Sub"),
    ]


@pytest.mark.skipif(shutil.which("dot") is None, reason="the Graphviz dot binary is not installed")
def test_seed_example_renders_to_an_svg_file(tmp_path):
    path = seed_graph().render(filename="seed", directory=tmp_path, format="svg")
    rendered = (tmp_path / "seed.svg").read_text()
    assert str(path).endswith("seed.svg")
    assert "<svg" in rendered
    assert "Transpose" in rendered


def test_params_name_their_leaves():
    weight = Variable(torch.randn(2, 3))
    bias = Variable(torch.randn(2), name="bias")
    x = torch.randn(4, 3)
    dot = (x @ weight.t() + bias).sum().draw_graph(params={"weight": weight})
    leaves = sorted(label for label, color in nodes(dot).values() if color == "lightblue")
    assert leaves == ["bias\n(2)", "weight\n(2, 3)"]


def test_leaves_that_need_no_grad_are_not_drawn():
    x = Variable(torch.randn(3))
    data = Variable(torch.randn(3), requires_grad=False)
    dot = (x * data * torch.ones(3)).sum().draw_graph()
    assert [color for _, color in nodes(dot).values()].count("lightblue") == 1


def test_shared_operator_is_drawn_once_with_an_edge_per_use():
    x = Variable(torch.randn(3))
    shared = x.exp()
    dot = (shared * shared).sum().draw_graph()
    assert [label for label, _ in nodes(dot).values()].count("Exp") == 1
    assert edges(dot).count(("Exp", "Mul")) == 2


def test_leaf_output_is_a_single_green_node():
    dot = Variable(torch.randn(2, 2)).draw_graph()
    assert list(nodes(dot).values()) == [("output\n(2, 2)", "darkolivegreen1")]


def test_graph_can_be_drawn_after_backward():
    x = Variable(torch.randn(3))
    z = (x.exp() * 2).sum()
    z.backward()
    assert sorted(label for label, _ in nodes(z.draw_graph()).values()) == [
        "(3)",
        "Exp",
        "Mul",
        "Sum",
        "output\n()",
    ]


def test_drawing_a_5000_deep_graph_does_not_recurse():
    x = Variable(torch.zeros(()))
    value = x
    for _ in range(5000):
        value = value + 1.0
    labels = [label for label, _ in nodes(value.draw_graph()).values()]
    assert labels.count("Add") == 5000
    assert len(labels) == 5002


def test_a_chained_sequential_is_drawn_layer_by_layer_inside_a_box():
    from autogradlib import nn

    model = nn.Sequential(nn.Linear(2, 3), nn.ReLU(), nn.Linear(3, 2), nn.Softmax(1))
    loss = nn.MSELoss()(model(torch.randn(4, 2)), torch.rand(4, 2))
    loss.backward()  # drawn after backward: the chain keeps its layers' names
    source = loss.draw_graph(params=dict(model.named_parameters())).source
    assert "subgraph cluster_" in source and "label=Sequential style=dashed" in source
    any_nodes = re.compile(r'^\t+(\S+) \[label=("[^"]*"|\S+) fillcolor=(\S+)\]', re.MULTILINE)
    labels = {node: label.strip('"') for node, label, _ in any_nodes.findall(source)}
    drawn = [
        (labels[source_id], labels[target])
        for source_id, target in re.findall(r"^\t+(\S+) -> (\S+)$", source, re.MULTILINE)
    ]
    assert sorted(drawn) == [
        ("0.bias\n(3)", "Linear"),
        ("0.weight\n(3, 2)", "Linear"),
        ("2.bias\n(2)", "Linear"),
        ("2.weight\n(2, 3)", "Linear"),
        ("Linear", "ReLU"),
        ("Linear", "Softmax"),
        ("MSELoss", "output\n()"),
        ("ReLU", "Linear"),
        ("Softmax", "MSELoss"),
    ]


def test_operators_recorded_by_a_backward_are_marked_with_the_operator_they_differentiate():
    x = Variable(torch.randn(3), name="x")
    (gradient,) = autogradlib.grad(x.relu().sum(), x, create_graph=True)
    source = (gradient * x).sum().draw_graph().source
    assert "(in ReLUBackward)" in source
    first_order = x.relu().sum().draw_graph().source
    assert "Backward" not in first_order
