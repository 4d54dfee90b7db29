"""Every ```python block of the README runs, each in a fresh namespace and a scratch folder.

A block that cannot run alone starts with a `# skip-test` comment that says why.
"""

import re
from pathlib import Path

import pytest

README = Path(__file__).resolve().parent.parent / "README.md"
BLOCKS = re.findall(r"^```python\n(.*?)^```", README.read_text(), flags=re.DOTALL | re.MULTILINE)


def test_the_readme_has_python_blocks():
    assert len(BLOCKS) >= 5


@pytest.mark.parametrize("index", range(len(BLOCKS)))
def test_readme_block_runs(index, tmp_path, monkeypatch):
    source = BLOCKS[index]
    if source.lstrip().startswith("# skip-test"):
        reason = source.lstrip().splitlines()[0]
        assert len(reason) > len("# skip-test") + 5, "a skipped block must say why it is skipped"
        pytest.skip(reason)
    monkeypatch.chdir(tmp_path)
    exec(compile(source, f"README.md block {index}", "exec"), {"__name__": "__readme__"})
