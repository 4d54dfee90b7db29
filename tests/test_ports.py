"""Real public PyTorch programs and their ports (examples/ports): the same results, from the same
seed, and ports that differ from the originals only in import lines and `Variable(...)` wraps."""

import difflib
import importlib.util
import math
import re
from pathlib import Path

import pytest
import torch

# d2l's `float(l.sum())` on a tensor that requires grad: PyTorch warns, in the originals.
pytestmark = pytest.mark.filterwarnings("ignore:Converting a tensor with requires_grad")

ROOT = Path(__file__).resolve().parent.parent
PORTS = ROOT / "examples" / "ports"
NAMES = sorted(folder.name for folder in PORTS.iterdir() if (folder / "port.py").is_file())

# Float32 programs: rounding differs in the last bits (another summation order), and grows a
# little over a few hundred steps; float64 programs agree to about 1e-12.
FLOAT32 = {"rel_tol": 1e-4, "abs_tol": 1e-6}
TOLERANCES = {"micrograd_moons": {"rel_tol": 1e-10, "abs_tol": 1e-12}}

# A port that needs what main still lacks: name it here, and the test fails loudly (strict) once
# it lands. Every port passes on main as of the last merge.
MISSING: dict[str, str] = {}

WRAPPERS = ("Variable(", "torch.nn.Parameter(", "nn.Parameter(")
NUMBER = re.compile(r"(?<![\w.])[-+]?\d+(?:\.(\d*))?(?:e[-+]?\d+)?")


def load(name: str, kind: str):
    """Import examples/ports/<name>/<kind>.py as a fresh module."""
    path = PORTS / name / f"{kind}.py"
    spec = importlib.util.spec_from_file_location(f"ports_{name}_{kind}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def is_import(line: str) -> bool:
    stripped = line.strip()
    return stripped.startswith("import ") or (
        stripped.startswith("from ") and " import " in stripped
    )


def unwrap(line: str) -> str:
    """The line with every Variable(...) / nn.Parameter(...) call replaced by its argument."""
    for wrapper in WRAPPERS:
        while (start := line.find(wrapper)) >= 0:
            depth, end = 1, start + len(wrapper)
            while depth:
                depth += {"(": 1, ")": -1}.get(line[end], 0)
                end += 1
            line = line[:start] + line[start + len(wrapper) : end - 1] + line[end:]
    return line


def changed_lines(name: str) -> tuple[list[str], list[str]]:
    """The original's lines the port removed and the port's lines it added, blank lines aside."""
    original = (PORTS / name / "original.py").read_text().splitlines()
    port = (PORTS / name / "port.py").read_text().splitlines()
    removed, added = [], []
    matcher = difflib.SequenceMatcher(a=original, b=port, autojunk=False)
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag != "equal":
            removed += [line for line in original[i1:i2] if line.strip()]
            added += [line for line in port[j1:j2] if line.strip()]
    return removed, added


def count_changes(name: str) -> tuple[int, int]:
    """(import lines, Variable lines) that the port changed or added."""
    _, added = changed_lines(name)
    imports = sum(is_import(line) for line in added)
    return imports, len(added) - imports


def assert_same(actual, expected, tolerance: dict, where: str = "result") -> None:
    if isinstance(expected, dict):
        assert isinstance(actual, dict) and actual.keys() == expected.keys(), where
        for key in expected:
            assert_same(actual[key], expected[key], tolerance, f"{where}[{key!r}]")
    elif isinstance(expected, (list, tuple)):
        assert isinstance(actual, (list, tuple)) and len(actual) == len(expected), where
        for index, (a, e) in enumerate(zip(actual, expected, strict=True)):
            assert_same(a, e, tolerance, f"{where}[{index}]")
    elif isinstance(expected, float):
        assert isinstance(actual, float), f"{where}: {actual!r} is not a float"
        assert math.isclose(actual, expected, **tolerance), f"{where}: {actual} != {expected}"
    else:
        assert type(actual) is type(expected) and actual == expected, f"{where}: {actual!r}"


def printed_numbers(text: str) -> list[tuple[float, float]]:
    """Every number printed, with the size of its last printed digit."""
    numbers = []
    for match in NUMBER.finditer(text):
        decimals = match.group(1)
        unit = 10.0 ** -len(decimals) if decimals and "e" not in match.group(0) else 0.0
        numbers.append((float(match.group(0)), unit))
    return numbers


def assert_same_printout(actual: str, expected: str, tolerance: dict) -> None:
    """Same lines and numbers: a tensor's repr and a Variable's differ only in their words."""
    assert len(actual.splitlines()) == len(expected.splitlines()), actual
    actual_numbers, expected_numbers = printed_numbers(actual), printed_numbers(expected)
    assert len(actual_numbers) == len(expected_numbers), actual
    for (a, unit), (e, _) in zip(actual_numbers, expected_numbers, strict=True):
        # A printed value may round the other way when the values differ in the last bits.
        assert abs(a - e) <= tolerance["rel_tol"] * abs(e) + tolerance["abs_tol"] + unit, (a, e)


def marked(names):
    return [
        pytest.param(name, marks=pytest.mark.xfail(strict=True, reason=MISSING[name]))
        if name in MISSING
        else name
        for name in names
    ]


def test_there_are_enough_programs():
    assert len(NAMES) >= 15
    for name in NAMES:
        header = (PORTS / name / "original.py").read_text().split('"""')[1]
        assert "Source:" in header and "Shrunk:" in header, name


@pytest.mark.parametrize("name", marked(NAMES))
def test_port_gives_the_original_results(name, capsys):
    tolerance = TOLERANCES.get(name, FLOAT32)
    torch.manual_seed(12345)  # neither program may depend on the state it was left in
    expected = load(name, "original").main()
    expected_printout = capsys.readouterr().out
    torch.manual_seed(12345)
    actual = load(name, "port").main()
    actual_printout = capsys.readouterr().out
    assert_same(actual, expected, tolerance)
    assert_same_printout(actual_printout, expected_printout, tolerance)


@pytest.mark.parametrize("name", NAMES)
def test_port_changes_only_imports_and_variable_wraps(name):
    removed, added = changed_lines(name)
    port = (PORTS / name / "port.py").read_text()
    assert "autogradlib" in port and added, "the port must import Autogradlib"
    removed_code = [unwrap(line) for line in removed if not is_import(line)]
    added_code = [line for line in added if not is_import(line)]
    assert all("Variable(" in line for line in added_code), added_code
    assert [unwrap(line) for line in added_code] == removed_code
    assert not any(
        re.match(r"\s*(import|from) torch\.(nn|optim|autograd)\b", line) for line in added
    ), "a port imports nn and optim from Autogradlib"


def test_readme_counts_the_programs():
    assert f"the {len(NAMES)} public programs ported" in (ROOT / "README.md").read_text()


def test_docs_table_counts_each_port():
    table = (ROOT / "docs" / "ports.md").read_text()
    lines = table.splitlines()
    rows = {row.split("|")[1].strip(" `"): row for row in lines if row.startswith("| `")}
    assert sorted(rows) == NAMES
    for name in NAMES:
        imports, wraps = count_changes(name)
        cells = [cell.strip() for cell in rows[name].split("|")]
        assert cells[3:5] == [str(imports), str(wraps)], (name, cells)
