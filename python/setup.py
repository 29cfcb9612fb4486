"""Builds libsegloss with the source tree's Makefile and ships the shared
libraries inside the package (segloss/libsegloss.so, libsegloss_io.so),
loaded by path at import. No compiler is involved on the Python side (ctypes).

The source tree is the directory above this one. SEGLOSS_PREBUILT=DIR takes
the two libraries from DIR instead of running make (e.g. build/)."""
import os
import shutil
import subprocess

from setuptools import Distribution, setup
from setuptools.command.build_py import build_py

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
LIBS = ("libsegloss.so", "libsegloss_io.so")


class BuildWithLibs(build_py):
    def run(self):
        super().run()
        src = os.environ.get("SEGLOSS_PREBUILT")
        if not src:
            if not os.path.exists(os.path.join(ROOT, "Makefile")):
                raise SystemExit("segloss-py: build from the segloss source tree (python/ inside "
                                 "it), or set SEGLOSS_PREBUILT to a directory holding %s"
                                 % " and ".join(LIBS))
            jobs = str(os.cpu_count() or 1)
            subprocess.check_call(["make", "-C", ROOT, "-j" + jobs] +
                                  ["build/" + lib for lib in LIBS])
            src = os.path.join(ROOT, "build")
        dest = os.path.join(self.build_lib, "segloss")
        os.makedirs(dest, exist_ok=True)
        for lib in LIBS:
            shutil.copy2(os.path.join(src, lib), os.path.join(dest, lib))


class BinaryDistribution(Distribution):
    """The wheel holds native libraries: tag it for this platform, not py3-none-any."""

    def has_ext_modules(self):
        return True


setup(cmdclass={"build_py": BuildWithLibs}, distclass=BinaryDistribution)
