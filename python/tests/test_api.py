"""The Python surface: each exception type with its fields, in-place write-back, dtype and
layout refusal, positional and keyword binding, consts as keywords, the kernel cache hit, a
bench call, devices, autotuning and the docstrings."""
import subprocess

import numpy as np
import pytest

import tk

from conftest import EXAMPLES, REPO

SCALE = """
#[grid(cdiv(n, BLOCK))]
kernel scale(x: *f32, out: *mut f32, n: i32, s: f32, const BLOCK: i32 = 64) {
    let offs = program_id(0) * BLOCK + arange(0, BLOCK);
    store(out + offs, load(x + offs, mask: offs < n) * s, mask: offs < n);
}
kernel fill(out: *mut i64, v: i64) { store(out + program_id(0), v); }
kernel oob(out: *mut f32, n: i32) { store(out + program_id(0) * 8, 0.0); }
kernel check(x: *f32, n: i32) {
    let offs = program_id(0) * 16 + arange(0, 16);
    device_assert(load(x + offs, mask: offs < n) >= 0.0, "x must be non-negative");
}
"""


def scale_module(device, **options):
    return tk.compile(source=SCALE, name="scale.tk", device=device, **options)


def test_write_back_in_place_and_binding(device):
    mod = scale_module(device)
    x = np.arange(100, dtype=np.float32)
    out = np.zeros_like(x)
    before = out.ctypes.data
    mod.scale(x, out, 100, 0.5)
    np.testing.assert_array_equal(out, x * 0.5)
    assert out.ctypes.data == before  # the same array, written in place
    # By keyword, an int for the f32 scalar, a numpy scalar, a const, and mod["..."].
    out[:] = 0
    mod["scale"][(4,)](x=x, out=out, n=100, s=2, BLOCK=32)
    np.testing.assert_array_equal(out, x * 2)
    mod.scale(x, out, np.int32(100), np.float32(3.0), BLOCK=128)
    np.testing.assert_array_equal(out, x * 3)
    # The read-only input is never written: a launch copies only `*mut` arrays back.
    np.testing.assert_array_equal(x, np.arange(100, dtype=np.float32))
    # 2-D arrays bind as their row-major elements; a grid as a plain int.
    slots = np.zeros((2, 3), dtype=np.int64)
    mod.fill[6](slots, -(2**40))
    assert (slots == -(2**40)).all()


def test_launch_errors_name_kernel_and_parameter(device):
    mod = scale_module(device)
    x = np.ones(8, np.float32)
    out = np.zeros(8, np.float32)
    with pytest.raises(tk.LaunchError) as e:
        mod.scale(x.astype(np.float64), out, 8, 1.0)
    assert e.value.kernel == "scale" and e.value.parameter == "x"
    assert "float64" in str(e.value) and "astype(numpy.float32)" in str(e.value)
    with pytest.raises(tk.LaunchError) as e:
        mod.scale(x, out, 8)
    assert e.value.parameter == "s" and "missing argument `s`" in str(e.value)
    with pytest.raises(tk.LaunchError) as e:
        mod.scale(x, out, 8, 1.0, nn=3)
    assert e.value.parameter == "nn" and "no parameter `nn`" in str(e.value)
    with pytest.raises(tk.LaunchError) as e:
        mod.scale(x, out, 2**40, 1.0)
    assert e.value.parameter == "n" and "does not fit in i32" in str(e.value)
    with pytest.raises(tk.LaunchError) as e:
        mod.scale(x, out, 8.5, 1.0)
    assert e.value.parameter == "n"
    with pytest.raises(tk.LaunchError) as e:
        mod.scale(x, out, 8, "1.0")
    assert "str" in str(e.value)
    with pytest.raises(tk.LaunchError) as e:
        mod.scale(x, x.astype(np.complex64), 8, 1.0)
    assert "complex64" in str(e.value)
    # A read-only array for a *mut parameter.
    frozen = np.zeros(8, np.float32)
    frozen.flags.writeable = False
    with pytest.raises(tk.LaunchError) as e:
        mod.scale(x, frozen, 8, 1.0)
    assert e.value.parameter == "out" and "not writeable" in str(e.value)
    # Non-contiguous arrays are refused, not copied silently.
    with pytest.raises(tk.LaunchError) as e:
        mod.scale(np.ones(16, np.float32)[::2], out, 8, 1.0)
    assert "C-contiguous" in str(e.value) and e.value.parameter == "x"
    # A kernel without #[grid] needs a grid; grids are 1 to 3 integers.
    with pytest.raises(tk.LaunchError, match="no #\\[grid\\]"):
        mod.fill(np.zeros(2, np.int64), 1)
    with pytest.raises(tk.LaunchError, match="bad grid"):
        mod.fill[(1, 2, 3, 4)](np.zeros(2, np.int64), 1)
    with pytest.raises(tk.LaunchError, match="bad grid"):
        mod.fill[(-1,)](np.zeros(2, np.int64), 1)
    assert issubclass(tk.LaunchError, tk.TkError)


def test_grid_too_large_on_the_device():
    mod = scale_module("auto")
    with pytest.raises(tk.LaunchError) as e:
        mod.fill[(2**32 - 1, 2**32 - 1, 2)](np.zeros(2, np.int64), 1)
    assert "programs" in str(e.value)


def test_kernel_errors_name_kernel_parameter_and_index(device):
    mod = scale_module(device)
    out = np.zeros(6, np.float32)
    with pytest.raises(tk.KernelError) as e:
        mod.oob[(2,)](out, 6)
    assert e.value.kernel == "oob" and e.value.parameter == "out"
    assert e.value.index == 8 and e.value.store is True and e.value.program == [1, 0, 0]
    assert "stored to `out` out of bounds at index 8" in str(e.value)
    x = np.ones(40, np.float32)
    x[21] = -1
    with pytest.raises(tk.KernelError) as e:
        mod.check[(3,)](x, 40)
    assert e.value.kernel == "check" and e.value.assert_message == "x must be non-negative"
    assert e.value.location == "scale.tk:11:5"
    assert e.value.element == 5 and e.value.program == [1, 0, 0]
    # On the device unchecked=True compiles the checks out: the same launch runs (the
    # interpreter, the reference semantics, always checks).
    if device != "interp":
        unchecked = scale_module(device, unchecked=True)
        assert unchecked.unchecked
        unchecked.check[(3,)](x, 40)


def test_compile_errors_carry_diagnostics(tmp_path):
    text = "kernel k(x: *f32) {\n    let y = zz;\n}\n"
    with pytest.raises(tk.CompileError) as e:
        tk.compile(source=text, name="bad.tk")
    (d,) = [d for d in e.value.diagnostics if d.code == "E0201"]
    assert (d.line, d.column, d.file) == (2, 13, "bad.tk")
    assert "zz" in d.message and d.severity == "error"
    assert "error[E0201]: unknown name `zz`" in str(d) and "bad.tk:2:13" in str(d)
    # str() of the exception is `tkc check`'s rendering (tkc is built by `cargo test` first).
    (tmp_path / "bad.tk").write_text(text)
    tkc = REPO / "target" / "debug" / "tkc"
    check = subprocess.run(
        [str(tkc), "--color", "never", "check", "bad.tk"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
    )
    assert check.returncode == 1
    assert str(e.value) == check.stderr
    assert issubclass(tk.CompileError, tk.TkError)
    with pytest.raises(FileNotFoundError):
        tk.compile("no/such/file.tk")


def test_the_second_compile_hits_the_kernel_cache(tmp_path):
    for expected in ["miss", "hit"]:
        before = tk.spirv_compiles()
        mod = tk.compile(EXAMPLES / "vector_add.tk", device="auto", cache_dir=tmp_path)
        x = np.arange(10, dtype=np.float32)
        out = np.zeros_like(x)
        mod.vector_add(x, x, out, 10, BLOCK=128)
        np.testing.assert_array_equal(out, 2 * x)
        assert mod.vector_add.cache_outcome(BLOCK=128) == expected
        compiled = tk.spirv_compiles() - before
        assert compiled == (1 if expected == "miss" else 0)
    assert list(tmp_path.glob("*.tkart"))
    # A kernel is compiled once per const set in a process: a launch with the same consts
    # compiles nothing more, other consts compile a new specialisation.
    before = tk.spirv_compiles()
    mod.vector_add(x, x, out, 10, BLOCK=128)
    assert tk.spirv_compiles() == before
    mod.vector_add(x, x, out, 10, BLOCK=256)
    assert tk.spirv_compiles() == before + 1


def test_bench_returns_tkc_bench_json():
    mod = tk.compile(EXAMPLES / "vector_add.tk", device="auto")
    n = 1 << 16
    x = np.ones(n, np.float32)
    out = np.zeros_like(x)
    result = mod.vector_add.bench(x, x, out, n, iterations=5, BLOCK=1024)
    for key in ["median_us", "p20_us", "p80_us", "gbps", "gflops", "copy_gbps", "copy_method",
                "copy_buffer_gbps", "copy_shader_gbps", "ratio_to_copy", "device", "kernel"]:
        assert key in result, key
    assert result["kernel"] == "vector_add" and result["grid"] == [64, 1, 1]
    assert result["iterations"] == 5 and result["median_us"] > 0
    # Counted by the interpreter: x and y read, out written, 4 bytes each.
    assert result["bytes"] == 3 * 4 * n
    assert result["mode"] == "safe"
    assert (out == 0).all()  # a bench leaves the arrays as they were
    with pytest.raises(tk.LaunchError, match="Vulkan device"):
        tk.compile(EXAMPLES / "vector_add.tk", device="interp").vector_add.bench(x, x, out, n)


def test_devices_lists_the_vulkan_device():
    devices = tk.devices()
    assert devices, "no Vulkan device"
    d = devices[0]
    assert d["index"] == 0 and d["name"] and d["driver"]
    assert d["subgroup_size"] >= 1 and d["max_threads"] >= 128
    assert isinstance(d["features"], list) and d["error"] is None
    assert tk.compile(source="kernel k() {}", device=0).device == d["name"]


AUTOTUNED = """
#[autotune(key = [n], configs = [{BLOCK = 32}, {BLOCK = 128}])]
#[grid(cdiv(n, BLOCK))]
kernel twice(x: *f32, out: *mut f32, n: i32, const BLOCK: i32 = 64) {
    let offs = program_id(0) * BLOCK + arange(0, BLOCK);
    store(out + offs, load(x + offs, mask: offs < n) * 2.0, mask: offs < n);
}
"""


def test_tune_keeps_the_result_where_tkc_tune_does():
    mod = tk.compile(source=AUTOTUNED, name="twice.tk", device="auto")
    x = np.arange(1000, dtype=np.float32)
    out = np.zeros_like(x)
    table = mod.tune("twice", x, out, 1000, iterations=3)
    assert table["key"] == ["n=1000"]
    assert [c["config"] for c in table["configs"]] == ["{BLOCK = 32}", "{BLOCK = 128}"]
    assert table["choice"] in ("{BLOCK = 32}", "{BLOCK = 128}")
    assert table["path"] and "tune" in table["path"]
    with open(table["path"]) as f:
        assert f.readline() == "tk-tune 1\n"
    # A launch uses the tuned config.
    mod.twice(x, out, 1000)
    np.testing.assert_array_equal(out, 2 * x)


def test_kernels_have_signatures_and_docs():
    import inspect

    mod = tk.compile(EXAMPLES / "softmax.tk", device="interp")
    assert mod.kernels == ("softmax",)
    k = mod.softmax
    assert "Row softmax" in k.__doc__ and k.__doc__.startswith("kernel softmax(x: *f32")
    sig = inspect.signature(k)
    assert list(sig.parameters) == ["x", "out", "n_rows", "n_cols", "BLOCK"]
    assert sig.parameters["BLOCK"].default == 1024
    assert sig.parameters["BLOCK"].kind == inspect.Parameter.KEYWORD_ONLY
    assert k.consts == {"BLOCK": 1024}
    assert "softmax" in dir(mod)
    with pytest.raises(AttributeError, match="no kernel 'nope'"):
        mod.nope


def test_bool_half_and_bfloat16_arrays(device):
    mod = tk.compile(
        source="""
kernel flip(x: *bool, out: *mut bool) { let i = program_id(0); store(out + i, !load(x + i)); }
kernel half(x: *f16, out: *mut f16) { let i = program_id(0); store(out + i, load(x + i) * 2.0); }
kernel brain(x: *bf16, out: *mut bf16) { let i = program_id(0); store(out + i, load(x + i) + 1.0); }
""",
        device=device,
    )
    flags = np.array([True, False, True])
    flipped = np.zeros(3, dtype=bool)
    mod.flip[(3,)](flags, flipped)
    np.testing.assert_array_equal(flipped, ~flags)
    h = np.array([1.5, -2.0], np.float16)
    h2 = np.zeros_like(h)
    mod.half[(2,)](h, h2)
    np.testing.assert_array_equal(h2, h * 2)
    ml_dtypes = pytest.importorskip("ml_dtypes")
    b = np.array([1.0, 2.5], dtype=ml_dtypes.bfloat16)
    b2 = np.zeros_like(b)
    mod.brain[(2,)](b, b2)
    np.testing.assert_array_equal(b2.astype(np.float32), [2.0, 3.5])
