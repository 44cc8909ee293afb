"""Type stubs of tk's Python package (see tk/__init__.py for the behaviour)."""
import os
from typing import Any, Callable, Dict, Iterator, List, Optional, Sequence, Tuple, Union

Grid = Union[int, Sequence[int], Callable[[Dict[str, Any]], Union[int, Sequence[int]]]]

class TkError(Exception):
    """The base of every error tk raises."""

    message: str

class CompileError(TkError):
    """The source has errors; ``str()`` renders them as ``tkc check`` does."""

    diagnostics: List["Diagnostic"]

class LaunchError(TkError):
    """The arguments do not fit the kernel (wrong dtype, missing or unknown parameter, grid
    too large)."""

    kernel: str
    parameter: Optional[str]
    reason: str

class KernelError(TkError):
    """Safe mode stopped the kernel: an out-of-bounds access or a failed ``device_assert``."""

    kernel: str
    parameter: Optional[str]
    index: Optional[int]
    store: Optional[bool]
    program: List[int]
    location: Optional[str]
    element: Optional[int]
    assert_message: str

class DeviceError(TkError):
    """The Vulkan device failed, or lacks a feature or limit the kernel needs."""

class Diagnostic:
    """One diagnostic of a ``CompileError``; ``str()`` is ``tkc check``'s rendering."""

    @property
    def code(self) -> str: ...
    @property
    def message(self) -> str: ...
    @property
    def severity(self) -> str: ...
    @property
    def file(self) -> Optional[str]: ...
    @property
    def line(self) -> Optional[int]: ...
    @property
    def column(self) -> Optional[int]: ...
    @property
    def help(self) -> Optional[str]: ...
    @property
    def notes(self) -> List[str]: ...

def compile(
    path: Union[str, "os.PathLike[str]", None] = None,
    *,
    source: Optional[str] = None,
    name: Optional[str] = None,
    device: Union[str, int] = "auto",
    unchecked: bool = False,
    cache: bool = True,
    cache_dir: Union[str, "os.PathLike[str]", None] = None,
) -> Module:
    """Checks a .tk file (or ``source=`` text) and returns its Module; each kernel is an
    attribute. ``device``: "auto", "interp" or an index from ``tk.devices()``."""

def devices() -> List[Dict[str, Any]]:
    """The Vulkan devices with the facts ``tkc devices`` prints."""

def cdiv(a: int, b: int) -> int:
    """Ceiling division."""

def spirv_compiles() -> int:
    """How many kernels this process compiled to SPIR-V (cache hits compile none)."""

class Param:
    name: str
    kind: str
    type: str
    mutable: bool
    default: Any

class Kernel:
    """A kernel: ``kernel[grid](*args, **consts)`` or ``kernel(*args, **consts)``."""

    module: Module
    name: str
    params: Tuple[Param, ...]
    has_grid: bool
    autotune: bool
    @property
    def consts(self) -> Dict[str, Any]: ...
    def __getitem__(self, grid: Grid) -> Callable[..., None]: ...
    def __call__(self, *args: Any, **kwargs: Any) -> None: ...
    def bench(
        self,
        *args: Any,
        grid: Optional[Grid] = None,
        iterations: int = 20,
        bytes: Optional[int] = None,
        flops: Optional[int] = None,
        **kwargs: Any,
    ) -> Dict[str, Any]:
        """``tkc bench --json``'s measurement of one launch, as a dict."""
    def tune(
        self,
        *args: Any,
        grid: Optional[Sequence[int]] = None,
        iterations: int = 10,
        **kwargs: Any,
    ) -> Dict[str, Any]: ...
    def cache_outcome(self, **consts: Any) -> str: ...

class Module:
    """A checked .tk file; ``mod.name`` and ``mod["name"]`` are its kernels."""

    @property
    def device(self) -> str: ...
    @property
    def unchecked(self) -> bool: ...
    @property
    def kernels(self) -> Tuple[str, ...]: ...
    def __getattr__(self, name: str) -> Kernel: ...
    def __getitem__(self, name: str) -> Kernel: ...
    def __iter__(self) -> Iterator[Kernel]: ...
    def tune(
        self,
        kernel: Union[str, Kernel],
        *args: Any,
        grid: Optional[Sequence[int]] = None,
        iterations: int = 10,
        **kwargs: Any,
    ) -> Dict[str, Any]:
        """Runs every #[autotune] config now and keeps the fastest where ``tkc tune`` does."""
