"""Shared fixtures: the package under test (build/python after `make python`,
else the python/ sources, which find build/*.so) and the CLI binary."""
import os
import subprocess
import sys

import numpy as np
import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
if not any(os.path.exists(os.path.join(p, "segloss", "__init__.py")) for p in sys.path if p):
    built = os.path.join(ROOT, "build", "python")
    sys.path.insert(0, built if os.path.isdir(built) else os.path.join(ROOT, "python"))


@pytest.fixture(scope="session")
def root():
    return ROOT


@pytest.fixture(scope="session")
def cli():
    path = os.environ.get("SEGLOSS") or os.path.join(ROOT, "build", "segloss")
    path = os.path.abspath(path) if os.sep in path else path
    if not os.path.exists(path):
        pytest.skip("no segloss CLI at %s (run make)" % path)

    def run(*args, check=True):
        p = subprocess.run([path] + [str(a) for a in args], capture_output=True, text=True)
        if check and p.returncode != 0:
            raise AssertionError("segloss %s: exit %d: %s" % (" ".join(map(str, args)),
                                                             p.returncode, p.stderr))
        return p
    return run


@pytest.fixture
def rng():
    return np.random.default_rng(1234)
