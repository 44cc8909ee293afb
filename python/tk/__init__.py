"""tk from Python: compile ``.tk`` kernels and launch them on numpy arrays, Triton-style.

::

    import numpy as np, tk
    mod = tk.compile("examples/softmax.tk")        # or tk.compile(source="kernel ...", name="k.tk")
    x = np.random.rand(4096, 1024).astype(np.float32)
    out = np.zeros_like(x)
    mod.softmax[(4096,)](x, out, 4096, 1024, BLOCK=1024)   # grid, then the arguments
    mod.softmax(x, out, 4096, 1024)                # a kernel with #[grid] needs no grid

Arguments go by position or by keyword; keywords that name a kernel's consts select the
specialisation, compiled on first use and kept (through the same on-disk cache as ``tkc``).
Arrays bound to ``*mut`` parameters are written back in place after the launch. Errors are
``CompileError``, ``LaunchError``, ``KernelError`` and ``DeviceError``, all ``TkError``s.

The work is done by tk's Rust library (``tk::api``) in the extension ``tk._native``; this module
adds the Triton-style surface over it.
"""
from __future__ import annotations

import inspect
import json
import os
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple, Union

from . import _native
from ._native import (
    CompileError,
    DeviceError,
    Diagnostic,
    KernelError,
    LaunchError,
    TkError,
    spirv_compiles,
)

# The kernel cache keys compiled kernels by the compiler's identity: here, this extension's file.
_native._identify(_native.__file__)

__all__ = [
    "compile",
    "devices",
    "cdiv",
    "Module",
    "Kernel",
    "TkError",
    "CompileError",
    "LaunchError",
    "KernelError",
    "DeviceError",
    "Diagnostic",
    "spirv_compiles",
]

Grid = Union[int, Sequence[int], Callable[[Dict[str, Any]], Union[int, Sequence[int]]]]


def devices() -> List[Dict[str, Any]]:
    """The Vulkan devices, as ``tkc devices`` lists them: one dict each with ``index``,
    ``name``, ``type``, ``vulkan``, ``driver``, ``subgroup_size``, ``timestamps``,
    ``shared_memory``, ``max_threads``, ``push_constants``, ``features``, ``missing``,
    ``cooperative_matrix`` and ``error`` (why the device would not open, else None)."""
    return _native.devices()


def cdiv(a: int, b: int) -> int:
    """Ceiling division, for grids: ``cdiv(1000, 256) == 4``."""
    return -(-a // b)


def compile(
    path: Union[str, "os.PathLike[str]", None] = None,
    *,
    source: Optional[str] = None,
    name: Optional[str] = None,
    device: Union[str, int] = "auto",
    unchecked: bool = False,
    cache: bool = True,
    cache_dir: Union[str, "os.PathLike[str]", None] = None,
) -> "Module":
    """Checks a ``.tk`` file (``path``) or source text (``source=``, shown in diagnostics as
    ``name``) and returns its ``Module``; each kernel is an attribute.

    ``device``: ``"auto"`` (the best Vulkan device, or the interpreter without Vulkan),
    ``"interp"`` (the reference interpreter) or an index from ``tk.devices()``.
    ``unchecked=True`` compiles without safe mode's bounds checks and asserts. Kernels are
    compiled on first launch per set of consts, through the on-disk cache ``tkc`` uses
    (``$XDG_CACHE_HOME/tk``; ``cache_dir`` names another, ``cache=False`` bypasses it).
    Raises ``CompileError`` when the source has errors.
    """
    if (path is None) == (source is None):
        raise TypeError("tk.compile takes a path or source=\"...\", one of the two")
    native = _native.Module(
        os.fspath(path) if path is not None else None,
        source,
        name if name is not None else "<source>",
        str(device),
        unchecked,
        cache,
        os.fspath(cache_dir) if cache_dir is not None else None,
    )
    return Module(native)


class Module:
    """A checked ``.tk`` file: ``mod.softmax`` or ``mod["softmax"]`` is its kernel ``softmax``."""

    def __init__(self, native: "_native.Module") -> None:
        self._native = native
        self._kernels = {sig["name"]: Kernel(self, sig) for sig in native.signatures()}

    @property
    def device(self) -> str:
        """The device the kernels run on (``"reference interpreter"`` for device="interp")."""
        return self._native.device

    @property
    def unchecked(self) -> bool:
        return self._native.unchecked

    @property
    def kernels(self) -> Tuple[str, ...]:
        """The kernels' names, in source order."""
        return tuple(self._kernels)

    def __getattr__(self, name: str) -> "Kernel":
        kernels = self.__dict__.get("_kernels", {})
        if name in kernels:
            return kernels[name]
        raise AttributeError(
            f"the module has no kernel {name!r} (its kernels: {', '.join(kernels) or 'none'})"
        )

    def __getitem__(self, name: str) -> "Kernel":
        try:
            return self._kernels[name]
        except KeyError:
            raise KeyError(name) from None

    def __iter__(self):
        return iter(self._kernels.values())

    def __dir__(self) -> List[str]:
        return sorted(set(super().__dir__()) | set(self._kernels))

    def tune(
        self,
        kernel: Union[str, "Kernel"],
        *args: Any,
        grid: Optional[Sequence[int]] = None,
        iterations: int = 10,
        **kwargs: Any,
    ) -> Dict[str, Any]:
        """Benchmarks every ``#[autotune]`` config of ``kernel`` on these arguments now (as
        ``tkc tune``), keeps the fastest in the cache ``tkc tune`` and ``tkc run`` read, and
        returns the table: ``kernel``, ``key``, ``configs`` (each ``config`` with ``median_us``
        or ``error``), ``choice`` and ``path``. Later launches with the same key values use the
        choice."""
        name = kernel.name if isinstance(kernel, Kernel) else kernel
        return self._native.tune(name, args, kwargs, grid, iterations)

    def __repr__(self) -> str:
        return f"<tk.Module kernels={list(self._kernels)} device={self.device!r}>"


class Param:
    """One parameter of a kernel: ``name``, ``kind`` ("pointer", "scalar" or "const"), ``type``
    (tk's element or scalar type), ``mutable`` (``*mut`` pointers) and ``default`` (consts)."""

    __slots__ = ("name", "kind", "type", "mutable", "default")

    def __init__(self, info: Dict[str, Any]) -> None:
        self.name: str = info["name"]
        self.kind: str = info["kind"]
        self.type: str = info["type"]
        self.mutable: bool = info.get("mutable", False)
        self.default: Any = info.get("default")

    def __str__(self) -> str:
        if self.kind == "pointer":
            return f"{self.name}: *{'mut ' if self.mutable else ''}{self.type}"
        if self.kind == "const":
            default = "" if self.default is None else f" = {self.default!r}"
            return f"const {self.name}: {self.type}{default}"
        return f"{self.name}: {self.type}"

    __repr__ = __str__


_NUMPY_NAMES = {
    "bool": "bool",
    "i8": "int8",
    "i16": "int16",
    "i32": "int32",
    "i64": "int64",
    "u8": "uint8",
    "u16": "uint16",
    "u32": "uint32",
    "u64": "uint64",
    "f16": "float16",
    "bf16": "bfloat16",
    "f32": "float32",
    "f64": "float64",
}


class Kernel:
    """One kernel of a module. ``kernel[grid](*args, **kwargs)`` launches it over ``grid`` (a
    tuple of 1 to 3 program counts, or a callable of a dict of the named arguments and consts);
    ``kernel(*args, **kwargs)`` launches a kernel with ``#[grid]`` over its own grid. Arguments
    bind by position (runtime parameters in order) or by name; keywords naming consts select
    the compiled specialisation."""

    def __init__(self, module: Module, sig: Dict[str, Any]) -> None:
        self.module = module
        self.name: str = sig["name"]
        self.params: Tuple[Param, ...] = tuple(Param(p) for p in sig["params"])
        self.has_grid: bool = sig["grid"]
        self.autotune: bool = sig["autotune"]
        self._launch = module._native.launch
        header = f"kernel {self.name}({', '.join(str(p) for p in self.params)})"
        self.__doc__ = header + ("\n\n" + sig["doc"] if sig["doc"] else "")
        self.__signature__ = self._signature()

    def _signature(self) -> inspect.Signature:
        parameters = []
        for p in self.params:
            if p.kind == "const":
                parameters.append(
                    inspect.Parameter(
                        p.name,
                        inspect.Parameter.KEYWORD_ONLY,
                        default=p.default if p.default is not None else inspect.Parameter.empty,
                        annotation=_annotation(p),
                    )
                )
            else:
                parameters.append(
                    inspect.Parameter(
                        p.name,
                        inspect.Parameter.POSITIONAL_OR_KEYWORD,
                        annotation=_annotation(p),
                    )
                )
        # Keyword-only parameters follow the others.
        parameters.sort(key=lambda p: p.kind == inspect.Parameter.KEYWORD_ONLY)
        return inspect.Signature(parameters, return_annotation=None)

    @property
    def consts(self) -> Dict[str, Any]:
        """The consts and their defaults (None where there is no default)."""
        return {p.name: p.default for p in self.params if p.kind == "const"}

    def __getitem__(self, grid: Grid) -> "_Launcher":
        return _Launcher(self._launch, self.name, grid)

    def __call__(self, *args: Any, **kwargs: Any) -> None:
        self._launch(self.name, args, kwargs, None)

    def bench(
        self,
        *args: Any,
        grid: Optional[Grid] = None,
        iterations: int = 20,
        bytes: Optional[int] = None,
        flops: Optional[int] = None,
        **kwargs: Any,
    ) -> Dict[str, Any]:
        """Times one launch as ``tkc bench --json`` does and returns its dict: ``median_us``,
        ``p20_us``, ``p80_us``, ``bytes``, ``gbps``, ``gflops``, ``copy_gbps`` (the device's copy
        reference), ``copy_method``, ``ratio_to_copy``, ``device``, ``grid``, ... The arrays are
        left unchanged. ``bytes``/``flops`` override what the interpreter counts. Needs a
        Vulkan device."""
        if callable(grid):
            grid = grid(self._meta(args, kwargs))
        return json.loads(
            self.module._native.bench(self.name, args, kwargs, grid, iterations, bytes, flops)
        )

    def tune(
        self,
        *args: Any,
        grid: Optional[Sequence[int]] = None,
        iterations: int = 10,
        **kwargs: Any,
    ) -> Dict[str, Any]:
        """``module.tune(this kernel, ...)``."""
        return self.module.tune(self.name, *args, grid=grid, iterations=iterations, **kwargs)

    def cache_outcome(self, **consts: Any) -> str:
        """How the specialisation for ``consts`` was compiled: ``"hit"`` (it came from the
        on-disk cache: nothing was compiled), ``"miss"`` (compiled and stored) or ``"bypassed"``
        (no cache, or the interpreter). Compiles it if no launch has yet."""
        return self.module._native.cache_outcome(self.name, **consts)

    def _meta(self, args: Sequence[Any], kwargs: Dict[str, Any]) -> Dict[str, Any]:
        meta = {p.name: p.default for p in self.params if p.kind == "const"}
        runtime = [p.name for p in self.params if p.kind != "const"]
        meta.update(zip(runtime, args))
        meta.update(kwargs)
        return meta

    def __repr__(self) -> str:
        return f"<tk.Kernel {self.__doc__.splitlines()[0]}>"


def _annotation(p: Param) -> str:
    if p.kind == "pointer":
        return f"numpy.ndarray[{_NUMPY_NAMES.get(p.type, p.type)}]"
    if p.type == "bool":
        return "bool"
    return "float" if p.type.startswith(("f", "bf")) else "int"


class _Launcher:
    """``kernel[grid]``: call it with the arguments to launch."""

    __slots__ = ("_launch", "_name", "_grid")

    def __init__(self, launch: Callable[..., None], name: str, grid: Grid) -> None:
        self._launch = launch
        self._name = name
        self._grid = grid

    def __call__(self, *args: Any, **kwargs: Any) -> None:
        self._launch(self._name, args, kwargs, self._grid)
