"""SEGLOSS_LIBDIR picks the library even where the package holds its own
copy (docs/python.md): a before/after benchmark relies on it."""
import os
import shutil
import subprocess
import sys

import segloss


def test_libdir_overrides_package_copy(tmp_path):
    pkg = os.path.dirname(os.path.abspath(segloss.__file__))
    src = os.path.dirname(segloss._lib.core._name)
    for name in ("libsegloss.so", "libsegloss_io.so"):
        shutil.copy(os.path.join(src, name), tmp_path / name)
    env = dict(os.environ, SEGLOSS_LIBDIR=str(tmp_path),
               PYTHONPATH=os.path.dirname(pkg) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    out = subprocess.run([sys.executable, "-c",
                          "import segloss; print(segloss._lib.core._name); "
                          "print(segloss._lib.io._name); print(segloss.library_version())"],
                         env=env, capture_output=True, text=True, check=True).stdout.split("\n")
    assert out[0] == str(tmp_path / "libsegloss.so")
    assert out[1] == str(tmp_path / "libsegloss_io.so")
    assert out[2] == segloss.library_version()
