"""The compiled parts (``audit/_scan.c``, ``audit/_minhash.c``); everything else is in pyproject.toml.

Both are optional: where no C compiler is at hand the install goes on without them, the matcher
uses daachorse, which finds the same hits at about half the speed on name-dense text, and
``--dedup minhash`` its numpy formulas, the same signatures and answers at about half the speed.
"""

from setuptools import Extension, setup

setup(
    ext_modules=[
        Extension("audit._scan", ["audit/_scan.c"], optional=True, extra_compile_args=["-O2"]),
        Extension("audit._minhash", ["audit/_minhash.c"], optional=True, extra_compile_args=["-O2"]),
    ]
)
