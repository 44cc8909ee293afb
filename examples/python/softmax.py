"""Triton's fused-softmax tutorial with examples/softmax.tk: one program per row, checked against
numpy, then timed as `tkc bench` times it (median, GB/s, and the device's copy bandwidth).

    pip install ./python && python3 examples/python/softmax.py
"""
import pathlib

import numpy as np

import tk

EXAMPLES = pathlib.Path(__file__).resolve().parents[1]


def softmax(mod, x):
    rows, cols = x.shape
    out = np.empty_like(x)
    block = 1 << (cols - 1).bit_length()  # the smallest power of two >= cols
    mod.softmax[(rows,)](x, out, rows, cols, BLOCK=block)
    return out


def reference(x):
    e = np.exp(x - x.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


mod = tk.compile(EXAMPLES / "softmax.tk")
x = np.random.default_rng(0).standard_normal((1823, 781)).astype(np.float32)
out = softmax(mod, x)
error = np.abs(out - reference(x)).max()
assert error < 1e-6, error
print(f"device: {mod.device}")
print(f"softmax {x.shape}: max |tk - numpy| = {error:.2e}")

if mod.device != "reference interpreter":
    rows, cols = 4096, 1024
    x = np.random.default_rng(1).standard_normal((rows, cols)).astype(np.float32)
    out = np.empty_like(x)
    m = mod.softmax.bench(x, out, rows, cols, grid=(rows,), iterations=10, BLOCK=1024)
    print(
        f"softmax {rows}x{cols}: {m['median_us']:.1f} us, {m['gbps']:.2f} GB/s "
        f"({m['ratio_to_copy']:.2f} of the copy bandwidth, {m['copy_gbps']:.2f} GB/s)"
    )
