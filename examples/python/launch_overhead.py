"""Launch overhead from Python: the 4-element kernel of examples/launch_overhead.rs launched 1,000
times through tk's Python package, the figure BENCHMARKS.md compares with the Rust API's.

    python3 examples/python/launch_overhead.py
"""
import statistics
import time

import numpy as np

import tk

SOURCE = """
kernel add4(x: *f32, y: *f32, out: *mut f32) {
    let offs = arange(0, 4);
    store(out + offs, load(x + offs) + load(y + offs));
}"""

mod = tk.compile(source=SOURCE, name="add4.tk")
x = np.array([1, 2, 3, 4], np.float32)
y = np.array([10, 20, 30, 40], np.float32)
out = np.zeros(4, np.float32)
launch = mod.add4[(1,)]
launches = 1000
for _ in range(50):
    launch(x, y, out)
rounds = []
for _ in range(5):
    start = time.perf_counter()
    for _ in range(launches):
        launch(x, y, out)
    rounds.append((time.perf_counter() - start) * 1e6 / launches)
assert out.tolist() == [11, 22, 33, 44]
print(f"device: {mod.device}")
print(
    f"python: {launches} launches of a 4-element kernel: median of 5 rounds "
    f"{statistics.median(rounds):.1f} us per launch (min {min(rounds):.1f}, max {max(rounds):.1f})"
)
