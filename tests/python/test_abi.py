"""Every ctypes Structure in segloss._lib matches its C struct in segloss.h:
size, alignment and the offset of each field, read from a C program
compiled against the header. A field added, removed or reordered in the
header fails here."""
import os
import shutil
import subprocess

import pytest

from segloss import _lib


def _c_program():
    lines = ["#include <segloss.h>", "#include <stddef.h>", "#include <stdio.h>",
             "int main(void) {"]
    for name, cls in _lib.STRUCTS.items():
        t = "segloss_" + name
        lines.append('printf("%s sizeof %%zu\\n", sizeof(%s));' % (name, t))
        lines.append('printf("%s alignof %%zu\\n", _Alignof(%s));' % (name, t))
        for field, _ in cls._fields_:
            lines.append('printf("%s %s %%zu\\n", offsetof(%s, %s));' % (name, field, t, field))
    lines += ["return 0;", "}"]
    return "\n".join(lines) + "\n"


@pytest.fixture(scope="module")
def c_layout(root, tmp_path_factory):
    cc = os.environ.get("CC", "cc")
    if not shutil.which(cc):
        pytest.skip("no C compiler (%s)" % cc)
    d = tmp_path_factory.mktemp("abi")
    src, exe = d / "layout.c", d / "layout"
    src.write_text(_c_program())
    subprocess.run([cc, "-std=c11", "-I", os.path.join(root, "include"), str(src), "-o",
                    str(exe)], check=True)
    out = subprocess.run([str(exe)], check=True, capture_output=True, text=True).stdout
    return {(a, b): int(c) for a, b, c in (l.split() for l in out.splitlines())}


@pytest.mark.parametrize("name", sorted(_lib.STRUCTS))
def test_struct_layout(name, c_layout):
    import ctypes
    cls = _lib.STRUCTS[name]
    assert ctypes.sizeof(cls) == c_layout[(name, "sizeof")], name
    assert ctypes.alignment(cls) == c_layout[(name, "alignof")], name
    for field, _ in cls._fields_:
        assert getattr(cls, field).offset == c_layout[(name, field)], (name, field)


def test_every_opts_struct_is_mirrored(root):
    """Each segloss_X_opts typedef of the header has a mirror (so a new
    options struct cannot be forgotten)."""
    import re
    header = open(os.path.join(root, "include", "segloss.h")).read()
    typedefs = set(re.findall(r"\}\s*segloss_(\w+_opts)\s*;", header))
    assert typedefs <= set(_lib.STRUCTS), typedefs - set(_lib.STRUCTS)
