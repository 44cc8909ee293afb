"""examples/vector_add.tk from Python: out = x + y on numpy arrays, checked against numpy.

    pip install ./python && python3 examples/python/vector_add.py
"""
import pathlib

import numpy as np

import tk

EXAMPLES = pathlib.Path(__file__).resolve().parents[1]

mod = tk.compile(EXAMPLES / "vector_add.tk")
n = 4096
x = np.arange(n, dtype=np.float32)
y = 2 * x
out = np.zeros_like(x)
mod.vector_add[(tk.cdiv(n, 1024),)](x, y, out, n, BLOCK=1024)  # grid, then the arguments
assert np.array_equal(out, x + y)
print(f"device: {mod.device}")
head = ", ".join(f"{v:g}" for v in out[:4])
tail = ", ".join(f"{v:g}" for v in out[-3:])
print(f"out: float32[{n}] [{head}, …, {tail}]")
