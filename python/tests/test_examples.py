"""Every example kernel (examples/*.tk) through Python, on the Vulkan device (lavapipe in CI) and
on the reference interpreter, against numpy: the same cases as tests/examples.rs and
tests/tutorials.rs, with numpy references."""
import numpy as np
import pytest

import tk

from conftest import EXAMPLES, assert_close


def rng(seed):
    return np.random.default_rng(seed)


def uniform(shape, seed, dtype=np.float32):
    return rng(seed).uniform(-1.0, 1.0, size=shape).astype(dtype)


def test_vector_add(device):
    mod = tk.compile(EXAMPLES / "vector_add.tk", device=device)
    for n, block in [(1, 1024), (1000, 256), (5000, 1024)]:
        x, y = uniform(n, 1), uniform(n, 2)
        out = np.zeros_like(x)
        mod.vector_add[(tk.cdiv(n, block),)](x, y, out, n, BLOCK=block)
        np.testing.assert_array_equal(out, x + y)
        # Without a grid: the kernel's #[grid(cdiv(n, BLOCK))].
        out2 = np.zeros_like(x)
        mod.vector_add(x, y, out2, n, BLOCK=block)
        np.testing.assert_array_equal(out2, x + y)


def test_cumsum(device):
    mod = tk.compile(EXAMPLES / "cumsum.tk", device=device)
    for rows, cols, block in [(1, 1, 16), (5, 100, 128), (3, 1000, 1024)]:
        x = uniform((rows, cols), 9)
        out = np.zeros_like(x)
        mod.cumsum_rows[(rows,)](x, out, rows, cols, BLOCK=block)
        expected = np.cumsum(x.astype(np.float64), axis=1)
        tol = (np.log2(block) + 2) * 2.0**-24 * cols
        assert np.max(np.abs(out - expected)) <= tol


def softmax_reference(x):
    e = np.exp(x - x.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def test_softmax(device):
    mod = tk.compile(EXAMPLES / "softmax.tk", device=device)
    for rows, cols, block in [(1, 1, 16), (7, 100, 128), (33, 1000, 1024)]:
        x = uniform((rows, cols), 3) * 10
        out = np.zeros_like(x)
        mod.softmax[(rows,)](x, out, rows, cols, BLOCK=block)
        assert_close(out, softmax_reference(x.astype(np.float64)), 1e-5)


def test_col_sum(device):
    mod = tk.compile(EXAMPLES / "col_sum.tk", device=device)
    for rows, cols in [(1, 1), (5, 70), (100, 130)]:
        x = uniform((rows, cols), 4)
        out = np.zeros(cols, dtype=np.float32)
        mod.col_sum(x, out, rows, cols)
        assert_close(out, x.astype(np.float64).sum(axis=0), 1e-5)


def f16_matmul_reference(a, b):
    return (a.astype(np.float64) @ b.astype(np.float64)).astype(np.float16)


def test_matmul(device):
    mod = tk.compile(EXAMPLES / "matmul.tk", device=device)
    for m, n, k, bm, bn, bk, group in [(100, 70, 50, 32, 32, 16, 4), (1, 33, 7, 16, 16, 8, 1)]:
        a, b = uniform((m, k), 11, np.float16), uniform((k, n), 12, np.float16)
        c = np.zeros((m, n), dtype=np.float16)
        consts = dict(BLOCK_M=bm, BLOCK_N=bn, BLOCK_K=bk, GROUP_SIZE_M=group)
        grid = lambda meta: (tk.cdiv(m, meta["BLOCK_M"]) * tk.cdiv(n, meta["BLOCK_N"]),)
        mod.matmul[grid](a, b, c, m, n, k, k, 1, n, 1, n, 1, **consts)
        assert_close(c.astype(np.float32), f16_matmul_reference(a, b).astype(np.float32), 2e-3)


def test_grouped_gemm(device):
    mod = tk.compile(EXAMPLES / "grouped_gemm.tk", device=device)
    for g, (m, n, k) in enumerate([(64, 64, 64), (40, 96, 24), (17, 5, 33)]):
        a, b = uniform((m, k), 20 + g, np.float16), uniform((k, n), 40 + g, np.float16)
        c = np.zeros((m, n), dtype=np.float16)
        mod.grouped_matmul_tile(a, b, c, m, n, k, k, n, n)
        assert_close(c.astype(np.float32), f16_matmul_reference(a, b).astype(np.float32), 2e-3)


def test_layer_norm_forward_and_backward(device):
    mod = tk.compile(EXAMPLES / "layer_norm.tk", device=device)
    m, n, eps, group = 37, 200, 1e-5, 8
    x, w, b, dy = uniform((m, n), 31), uniform(n, 32), uniform(n, 33), uniform((m, n), 34)
    xd = x.astype(np.float64)
    mean = xd.mean(axis=1)
    rstd = 1 / np.sqrt(xd.var(axis=1) + eps)
    x_hat = (xd - mean[:, None]) * rstd[:, None]
    y_ref = x_hat * w + b
    wdy = w * dy.astype(np.float64)
    c1 = (x_hat * wdy).mean(axis=1, keepdims=True)
    c2 = wdy.mean(axis=1, keepdims=True)
    dx_ref = (wdy - (x_hat * c1 + c2)) * rstd[:, None]

    y = np.zeros_like(x)
    mean_out, rstd_out = np.zeros(m, np.float32), np.zeros(m, np.float32)
    mod.layer_norm_fwd(x, y, w, b, mean_out, rstd_out, n, m, n, eps, BLOCK=64)
    assert_close(y, y_ref, 1e-4)
    assert_close(mean_out, mean, 1e-5)
    assert_close(rstd_out, rstd, 1e-4)

    dx = np.zeros_like(x)
    partial_dw, partial_db = np.zeros((group, n), np.float32), np.zeros((group, n), np.float32)
    mod.layer_norm_bwd_dx(
        dx, dy, partial_dw, partial_db, x, w, mean_out, rstd_out, n, m, n,
        BLOCK_N=256, GROUP=group,
    )
    assert_close(dx, dx_ref, 1e-3)
    dw, db = np.zeros(n, np.float32), np.zeros(n, np.float32)
    mod.layer_norm_bwd_dwdb(partial_dw, partial_db, dw, db, group, n, BLOCK_M=4, BLOCK_N=64)
    assert_close(dw, (dy * x_hat).sum(axis=0), 1e-3)
    assert_close(db, dy.astype(np.float64).sum(axis=0), 1e-4)


def test_attention(device):
    mod = tk.compile(EXAMPLES / "attention.tk", device=device)
    zh, ctx, d, bm, bn = 3, 40, 16, 16, 16
    scale = 1 / np.sqrt(d)
    q, k, v = (uniform((zh, ctx, d), s, np.float16) for s in (51, 52, 53))
    out = np.zeros_like(q)
    mod.attention_fwd(q, k, v, out, scale, zh, ctx, HEAD_DIM=d, BLOCK_M=bm, BLOCK_N=bn)
    s = np.einsum("hid,hjd->hij", q.astype(np.float64), k.astype(np.float64)) * scale
    p = np.exp(s - s.max(axis=2, keepdims=True))
    expected = np.einsum("hij,hjd->hid", p, v.astype(np.float64)) / p.sum(axis=2)[..., None]
    assert_close(out.astype(np.float32), expected, 1e-2)


def triton_rand(seed, offsets):
    """Triton's ``tl.rand(seed, offset)``: word 0 of Philox 4x32-10 through
    ``uint_to_uniform_float`` (the port tests/tutorials.rs checks against)."""
    mask = np.uint64(0xFFFFFFFF)
    a, b = np.uint64(0xD2511F53), np.uint64(0xCD9E8D57)
    k0, k1 = np.uint64(seed & 0xFFFFFFFF), np.uint64((seed >> 32) & 0xFFFFFFFF)
    c0 = offsets.astype(np.uint64)
    c1, c2, c3 = (np.zeros_like(c0) for _ in range(3))
    for _ in range(10):
        old0, old2 = c0, c2
        c0 = ((b * old2) >> np.uint64(32)) ^ c1 ^ k0
        c2 = ((a * old0) >> np.uint64(32)) ^ c3 ^ k1
        c1, c3 = (b * old2) & mask, (a * old0) & mask
        k0, k1 = (k0 + np.uint64(0x9E3779B9)) & mask, (k1 + np.uint64(0xBB67AE85)) & mask
    i = c0.astype(np.uint32).view(np.int32).astype(np.int64)
    i = np.where(i < 0, -i - 1, i)
    return i.astype(np.float32) * np.float32(4.656_612_7e-10)


def test_seeded_dropout(device):
    mod = tk.compile(EXAMPLES / "dropout.tk", device=device)
    x = uniform(1000, 41)
    x[x == 0] = 0.5
    p, seed = 0.3, 123
    out = np.zeros_like(x)
    mod.seeded_dropout(x, out, x.size, p, seed, BLOCK=256)
    keep = triton_rand(seed, np.arange(x.size)) > np.float32(p)
    expected = np.where(keep, x / np.float32(1 - p), 0).astype(np.float32)
    assert_close(out, expected, 1e-6)
    np.testing.assert_array_equal(out != 0, keep)
