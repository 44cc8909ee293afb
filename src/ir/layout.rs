//! Layouts: how a tile's elements are spread over the invocations of a workgroup (Triton's idea),
//! and the `Schedule` that the passes attach to a kernel.
//!
//! A `Blocked` layout of shape `S` gives each invocation `size_per_thread[d]` contiguous elements
//! along each dim `d` and spreads the invocations over the dims row-major (last dim fastest) with
//! `threads_per_dim[d]` invocations along dim `d` (their product is the workgroup size). Along a dim
//! where `size_per_thread[d] * threads_per_dim[d] < S[d]` the pattern repeats (each invocation holds
//! several blocks); where it is larger, coordinates wrap modulo `S[d]` and invocations hold replicas.
//!
//! Invocation `t` has per-dim index `t_d` (row-major decomposition of `t` over `threads_per_dim`).
//! Its registers are numbered row-major over per-dim register indices `r_d` in
//! `0 .. regs_per_dim(d)`, where `regs_per_dim(d) = max(1, S[d] / (spt[d] * tpd[d])) * spt[d]`, and
//! register `r_d` holds coordinate
//! `c_d = ((r_d / spt[d]) * spt[d] * tpd[d] + t_d * spt[d] + r_d % spt[d]) % S[d]`.
//!
//! A `Slice { parent, dim }` layout is the result of reducing `parent` along `dim`: the shape and
//! registers drop that dim, and every invocation along `dim` holds the same (replicated) values.
//! `x[:, None]` of a slice layout re-inserts the dim with size 1 and needs no data movement.

/// A blocked layout; every vector has one entry per dim of the tile.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Blocked {
    pub shape: Vec<u32>,
    pub size_per_thread: Vec<u32>,
    pub threads_per_dim: Vec<u32>,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Layout {
    /// A scalar: every invocation holds the same value.
    Uniform,
    Blocked(Blocked),
    Slice {
        parent: Blocked,
        dim: u32,
    },
}

impl Blocked {
    pub fn rank(&self) -> usize {
        self.shape.len()
    }
    /// Number of registers per dim that each invocation holds.
    pub fn regs_per_dim(&self, d: usize) -> u32 {
        let span = self.size_per_thread[d] * self.threads_per_dim[d];
        (self.shape[d] / span).max(1) * self.size_per_thread[d]
    }
    /// Number of elements each invocation holds.
    pub fn regs(&self) -> u32 {
        (0..self.rank()).map(|d| self.regs_per_dim(d)).product()
    }
    /// Workgroup invocations this layout spreads over.
    pub fn threads(&self) -> u32 {
        self.threads_per_dim.iter().product()
    }
    /// Coordinate along `d` of register index `r_d` for thread index `t_d` along `d`.
    pub fn coord(&self, d: usize, t_d: u32, r_d: u32) -> u32 {
        let spt = self.size_per_thread[d];
        ((r_d / spt) * spt * self.threads_per_dim[d] + t_d * spt + r_d % spt) % self.shape[d]
    }
    /// True when thread index `t_d` along `d` holds the first copy of its elements there (only
    /// such copies perform side effects).
    pub fn is_primary(&self, d: usize, t_d: u32) -> bool {
        t_d * self.size_per_thread[d] < self.shape[d]
    }
}

impl Layout {
    /// Registers per invocation.
    pub fn regs(&self) -> u32 {
        match self {
            Layout::Uniform => 1,
            Layout::Blocked(b) => b.regs(),
            Layout::Slice { parent, dim } => (0..parent.rank())
                .filter(|&d| d != *dim as usize)
                .map(|d| parent.regs_per_dim(d))
                .product(),
        }
    }
}

/// What the scheduling passes decided for one kernel.
#[derive(Debug, Clone, PartialEq)]
pub struct Schedule {
    /// Invocations per workgroup (one program instance).
    pub threads: u32,
    /// The layout of each value, indexed like `Kernel::insts` (`None` for instructions without a
    /// result).
    pub layouts: Vec<Option<Layout>>,
    /// The layout of each local, indexed like `Kernel::locals`.
    pub local_layouts: Vec<Layout>,
    /// Bytes of workgroup shared memory the kernel needs (reductions, layout conversions).
    pub shared_bytes: u32,
}
