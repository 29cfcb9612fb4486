"""The Python examples of README.md and docs/python.md run as written
(from the source tree's root, where examples/ is)."""
import os
import re

import pytest


def _blocks(root, name):
    text = open(os.path.join(root, name), encoding="utf-8").read()
    return re.findall(r"```python\n(.*?)```", text, re.S)


@pytest.mark.parametrize("doc", ["README.md", "docs/python.md"])
def test_examples_run(doc, root, monkeypatch):
    blocks = _blocks(root, doc)
    assert blocks
    monkeypatch.chdir(root)
    for code in blocks:
        exec(compile(code, doc, "exec"), {})
