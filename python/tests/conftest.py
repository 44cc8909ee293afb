"""Shared fixtures: the examples folder, both backends (the Vulkan device, which must exist:
these tests never skip, as the Rust ones), and a tolerance check like tests/common's."""
import os
import pathlib
import tempfile

import numpy as np
import pytest

# The kernel and autotuning caches of this run live in a fresh folder (the cache tests name
# their own), so that no result of an earlier run is reused.
os.environ.setdefault("XDG_CACHE_HOME", tempfile.mkdtemp(prefix="tk-pytest-cache-"))
os.environ.setdefault("XDG_RUNTIME_DIR", "/tmp")

import tk  # noqa: E402

REPO = pathlib.Path(__file__).resolve().parents[2]
EXAMPLES = REPO / "examples"


@pytest.fixture(params=["auto", "interp"], ids=["vulkan", "interp"])
def device(request):
    """Each test runs on the Vulkan device and on the interpreter."""
    if request.param == "auto":
        mod = tk.compile(source="kernel k() {}", device="auto")
        assert mod.device != "reference interpreter", (
            "no Vulkan device for the device tests; install mesa-vulkan-drivers and libvulkan1 "
            "(.ci/run does): these tests never skip"
        )
    return request.param


def assert_close(actual, expected, tolerance):
    """|actual - expected| <= tolerance * (1 + |expected|) everywhere (tests/common's rule)."""
    actual = np.asarray(actual, dtype=np.float64)
    expected = np.asarray(expected, dtype=np.float64)
    assert actual.shape == expected.shape, (actual.shape, expected.shape)
    bad = np.abs(actual - expected) > tolerance * (1 + np.abs(expected))
    assert not bad.any(), (
        f"{bad.sum()} elements differ; first at {np.argwhere(bad)[0]}: "
        f"got {actual[tuple(np.argwhere(bad)[0])]}, expected {expected[tuple(np.argwhere(bad)[0])]}"
    )
