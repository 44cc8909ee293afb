//! Layouts: how a tile's elements are spread over the invocations of a workgroup (Triton's idea),
//! and the layout algebra that the passes, the verifier and the SPIR-V emitter share (coordinates
//! of registers, register renamings between layouts, the invocations a reduction or scan spans).
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
//!
//! A `Cooperative` layout holds a 2-d f32 tile in cooperative matrices, a block of whole ones per
//! subgroup: the elements each invocation holds are the device's secret, so only a `dot`'s
//! accumulator and result, the local carrying them and conversions may have it.

use std::collections::HashMap;

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
    /// A 2-d f32 tile held in cooperative matrices (`Cooperative`): a `dot`'s accumulator kept
    /// in them across a loop. No invocation knows which elements it holds, so only the `dot`, the
    /// local that carries it, a splat and a conversion may have this layout.
    Cooperative(Cooperative),
}

/// A `[M, N]` tile in `tile[0] × tile[1]` cooperative-matrix accumulators (subgroup scope): the
/// subgroups form a `subgroups[0] × subgroups[1]` grid over the tile, and subgroup `s` (row
/// `s / subgroups[1]`, column `s % subgroups[1]`) holds the `tiles()` matrices of its block of
/// `M / subgroups[0]` rows and `N / subgroups[1]` columns, row-major: its register `i * tiles()[1]
/// + j` is the matrix at rows `(row * tiles()[0] + i) * tile[0]`, columns `(column * tiles()[1] +
/// j) * tile[1]`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Cooperative {
    pub shape: Vec<u32>,
    pub tile: [u32; 2],
    pub subgroups: [u32; 2],
    pub subgroup_size: u32,
}

impl Cooperative {
    /// Matrices per subgroup along each dim.
    pub fn tiles(&self) -> [u32; 2] {
        [
            self.shape[0] / (self.tile[0] * self.subgroups[0]),
            self.shape[1] / (self.tile[1] * self.subgroups[1]),
        ]
    }
    /// Invocations of the workgroup.
    pub fn threads(&self) -> u32 {
        self.subgroups[0] * self.subgroups[1] * self.subgroup_size
    }
    /// True when the subgroups' blocks tile the shape with whole matrices.
    pub fn fits(&self) -> bool {
        self.shape.len() == 2
            && (0..2).all(|d| {
                self.tile[d] > 0
                    && self.subgroups[d] > 0
                    && self.shape[d].is_multiple_of(self.tile[d] * self.subgroups[d])
            })
    }
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
            Layout::Cooperative(c) => c.tiles().iter().product(),
        }
    }
}

// ---- helpers used by the passes and the SPIR-V emitter (compile-time evaluation of the formulas) --

impl Blocked {
    /// Index of invocation `t` along dim `d` (row-major over `threads_per_dim`, last dim fastest).
    pub fn thread_index(&self, d: usize, t: u32) -> u32 {
        let stride: u32 = self.threads_per_dim[d + 1..].iter().product();
        (t / stride) % self.threads_per_dim[d]
    }
    /// The offset of register `r_d` along `d` before adding the thread's part:
    /// `coord = (register_base + t_d * spt) % S`.
    pub fn register_base(&self, d: usize, r_d: u32) -> u32 {
        let spt = self.size_per_thread[d];
        (r_d / spt) * spt * self.threads_per_dim[d] + r_d % spt
    }
    /// True when every element is held by exactly one invocation in exactly one register: along
    /// every dim the pattern of one repetition fits the shape (no wrap-around replicas).
    pub fn is_distributed(&self) -> bool {
        (0..self.rank()).all(|d| self.size_per_thread[d] * self.threads_per_dim[d] <= self.shape[d])
    }
    /// The invocation and the register that hold the element at `coords`, for a distributed
    /// layout (`is_distributed`): the inverse of `Layout::coords`.
    pub fn owner(&self, coords: &[u32]) -> (u32, u32) {
        let (mut thread, mut register) = (0, 0);
        for (d, &c) in coords.iter().enumerate() {
            let spt = self.size_per_thread[d];
            let span = spt * self.threads_per_dim[d];
            let (block, within) = (c / span, c % span);
            thread = thread * self.threads_per_dim[d] + within / spt;
            register = register * self.regs_per_dim(d) + block * spt + within % spt;
        }
        (thread, register)
    }
    /// True when register `r_d` along `d` is the first register of the invocation holding its
    /// coordinate (registers repeat coordinates when `size_per_thread[d] > shape[d]`).
    pub fn is_primary_register(&self, d: usize, r_d: u32) -> bool {
        let s = self.shape[d];
        if self.size_per_thread[d] <= s {
            // Every register base is below the shape (one block of at most `s`, or whole
            // repetitions of the pattern within it): no two registers share a coordinate.
            return true;
        }
        let base = self.register_base(d, r_d) % s;
        (0..r_d).all(|earlier| self.register_base(d, earlier) % s != base)
    }
}

impl Layout {
    /// The tile shape this layout describes (empty for `Uniform`).
    pub fn shape(&self) -> Vec<u32> {
        match self {
            Layout::Uniform => Vec::new(),
            Layout::Blocked(b) => b.shape.clone(),
            Layout::Cooperative(c) => c.shape.clone(),
            Layout::Slice { parent, dim } => {
                let mut s = parent.shape.clone();
                s.remove(*dim as usize);
                s
            }
        }
    }
    /// The blocked layout whose thread decomposition this layout uses (`None` for a scalar and
    /// for cooperative matrices, whose elements no invocation can name).
    pub fn base(&self) -> Option<&Blocked> {
        match self {
            Layout::Uniform | Layout::Cooperative(_) => None,
            Layout::Blocked(b) => Some(b),
            Layout::Slice { parent, .. } => Some(parent),
        }
    }
    /// The parent dims that this layout's dims correspond to, in order.
    pub fn parent_dims(&self) -> Vec<usize> {
        match self {
            Layout::Uniform | Layout::Cooperative(_) => Vec::new(),
            Layout::Blocked(b) => (0..b.rank()).collect(),
            Layout::Slice { parent, dim } => {
                (0..parent.rank()).filter(|&d| d != *dim as usize).collect()
            }
        }
    }
    /// Per-dim register counts (row-major register numbering over these).
    pub fn regs_per_dim(&self) -> Vec<u32> {
        match self.base() {
            None => Vec::new(),
            Some(b) => self
                .parent_dims()
                .iter()
                .map(|&d| b.regs_per_dim(d))
                .collect(),
        }
    }
    /// Per-dim register indices of register `r`.
    pub fn register_indices(&self, r: u32) -> Vec<u32> {
        let counts = self.regs_per_dim();
        let mut out = vec![0; counts.len()];
        let mut rest = r;
        for i in (0..counts.len()).rev() {
            out[i] = rest % counts[i];
            rest /= counts[i];
        }
        out
    }
    /// The coordinates of register `r` of invocation `t`.
    pub fn coords(&self, t: u32, r: u32) -> Vec<u32> {
        let Some(b) = self.base() else {
            return Vec::new();
        };
        let idx = self.register_indices(r);
        self.parent_dims()
            .iter()
            .zip(idx)
            .map(|(&d, r_d)| b.coord(d, b.thread_index(d, t), r_d))
            .collect()
    }
    /// True when register `r` of invocation `t` is the one copy of its element that performs
    /// side effects.
    pub fn is_primary_copy(&self, t: u32, r: u32) -> bool {
        let Some(b) = self.base() else {
            return t == 0;
        };
        if let Layout::Slice { dim, .. } = self {
            if b.thread_index(*dim as usize, t) != 0 {
                return false;
            }
        }
        let idx = self.register_indices(r);
        self.parent_dims()
            .iter()
            .zip(idx)
            .all(|(&d, r_d)| b.is_primary(d, b.thread_index(d, t)) && b.is_primary_register(d, r_d))
    }
    /// Invocations the layout spreads over (1 for `Uniform`).
    pub fn threads(&self) -> u32 {
        if let Layout::Cooperative(c) = self {
            return c.threads();
        }
        self.base().map_or(1, |b| b.threads())
    }
}

// ---- what work across invocations a layout implies (the passes plan it, the verifier checks the
// plans against it, the emitter walks it) ----------------------------------------------------------

impl Layout {
    /// The parent dims whose invocations a reduction of this layout along `axis` (`None`: every
    /// dim) must combine: the reduced dims spread over more than one invocation and, for a full
    /// reduction of a slice, the sliced dim. Empty when each invocation reduces in registers.
    pub fn reduction_group_dims(&self, axis: Option<u32>) -> Vec<usize> {
        let Some(base) = self.base() else {
            return Vec::new();
        };
        let dims = self.parent_dims();
        let reduced: Vec<usize> = match axis {
            Some(a) => dims.get(a as usize).copied().into_iter().collect(),
            None => dims,
        };
        let mut group: Vec<usize> = reduced
            .into_iter()
            .filter(|&d| base.threads_per_dim[d] > 1)
            .collect();
        if let (None, Layout::Slice { dim, .. }) = (axis, self) {
            if base.threads_per_dim[*dim as usize] > 1 {
                group.push(*dim as usize);
            }
        }
        group
    }

    /// True when a scan of this layout along `axis` needs other invocations' elements: the axis
    /// is spread over several invocations and no invocation holds all of it.
    pub fn scan_crosses_invocations(&self, axis: u32) -> bool {
        let Some(base) = self.base() else {
            return false;
        };
        let Some(&d) = self.parent_dims().get(axis as usize) else {
            return false;
        };
        base.threads_per_dim[d] > 1 && base.size_per_thread[d] < base.shape[d]
    }
}

/// The operand layouts of a `dot` computed in registers: for an accumulator layout `acc` of
/// `[M, N]` and depth `k`, each invocation holds the rows of `a: [M, K]` and the columns of
/// `b: [K, N]` that its accumulator registers need, all of K, replicated across the invocations
/// that share them. The product then needs no data movement: register `(i, j)` of the result is
/// `fma(a[(i, k)], b[(k, j)], ·)` over k in order.
pub fn register_dot_operands(acc: &Blocked, k: u32) -> (Blocked, Blocked) {
    let a = Blocked {
        shape: vec![acc.shape[0], k],
        size_per_thread: vec![acc.size_per_thread[0], k],
        threads_per_dim: acc.threads_per_dim.clone(),
    };
    let b = Blocked {
        shape: vec![k, acc.shape[1]],
        size_per_thread: vec![k, acc.size_per_thread[1]],
        threads_per_dim: acc.threads_per_dim.clone(),
    };
    (a, b)
}

// ---- register renamings between layouts ---------------------------------------------------------

/// How a user reads an operand's coordinates from its own: identity, dropping an inserted dim
/// (`ExpandDims`) or zeroing broadcast dims.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Projection {
    Identity,
    RemoveDim(usize),
    ZeroDims(Vec<usize>),
}

impl Projection {
    pub fn apply(&self, coords: &[u32]) -> Vec<u32> {
        match self {
            Projection::Identity => coords.to_vec(),
            Projection::RemoveDim(d) => {
                let mut c = coords.to_vec();
                c.remove(*d);
                c
            }
            Projection::ZeroDims(dims) => {
                let mut c = coords.to_vec();
                for &d in dims {
                    c[d] = 0;
                }
                c
            }
        }
    }
}

type MemoKey = (Layout, Layout, Projection);
thread_local! {
    /// `local_map` answers of the compilation under way (cleared by `forget_local_maps`).
    static MEMO: std::cell::RefCell<HashMap<MemoKey, Option<Vec<u32>>>> = Default::default();
}

/// Starts a compilation with no remembered `local_map` answers (so one compilation's time never
/// depends on an earlier one's).
pub fn forget_local_maps() {
    MEMO.with(|m| m.borrow_mut().clear());
}

/// When every invocation holds, for each register of `dst`, the operand element it needs in a
/// register of `src` whose number is the same for every invocation, returns those register
/// numbers (indexed by `dst` register): the operation needs no data movement.
pub fn local_map(src: &Layout, dst: &Layout, projection: &Projection) -> Option<Vec<u32>> {
    if src == dst && *projection == Projection::Identity {
        return Some((0..dst.regs()).collect());
    }
    // The layout search asks the same questions many times (the candidates of every user of a
    // value); large register tiles make each answer cost thousands of coordinate computations.
    let key = (src.clone(), dst.clone(), projection.clone());
    if let Some(hit) = MEMO.with(|m| m.borrow().get(&key).cloned()) {
        return hit;
    }
    let answer = compute_local_map(src, dst, projection);
    MEMO.with(|m| {
        let mut m = m.borrow_mut();
        if m.len() >= 4096 {
            m.clear();
        }
        m.insert(key, answer.clone());
    });
    answer
}

fn compute_local_map(src: &Layout, dst: &Layout, projection: &Projection) -> Option<Vec<u32>> {
    if src.threads() != dst.threads()
        && !matches!(src, Layout::Uniform)
        && !matches!(dst, Layout::Uniform)
    {
        return None;
    }
    if matches!(src, Layout::Uniform) {
        return Some(vec![0; dst.regs() as usize]);
    }
    // Coordinates as one number (row-major over the source's shape).
    let shape = src.shape();
    let flat = |c: &[u32]| -> u64 {
        c.iter()
            .zip(&shape)
            .fold(0u64, |acc, (&x, &n)| acc * n as u64 + x as u64)
    };
    let threads = src.threads().max(dst.threads());
    let mut map: Vec<Option<u32>> = vec![None; dst.regs() as usize];
    let mut held: HashMap<u64, u32> = HashMap::new();
    for t in 0..threads {
        held.clear();
        for s in (0..src.regs()).rev() {
            held.insert(flat(&src.coords(t, s)), s);
        }
        for (r, slot) in map.iter_mut().enumerate() {
            let want = projection.apply(&dst.coords(t, r as u32));
            if want.len() != shape.len() {
                return None;
            }
            let want = flat(&want);
            let &s = held.get(&want)?;
            match slot {
                None => *slot = Some(s),
                Some(prev) => {
                    // Another register of the same invocation may hold the same element.
                    if *prev != s && flat(&src.coords(t, *prev)) != want {
                        return None;
                    }
                }
            }
        }
    }
    Some(map.into_iter().map(|s| s.unwrap_or(0)).collect())
}

#[cfg(test)]
mod tests {
    use super::{Blocked, Layout};

    /// `owner` inverts `coords` on distributed layouts.
    #[test]
    fn owners_invert_coordinates() {
        for (shape, spt, tpd) in [
            ([64, 8], [1, 4], [4, 2]),
            ([16, 32], [2, 4], [2, 4]),
            ([8, 8], [8, 1], [1, 8]),
            ([32, 16], [4, 4], [8, 2]),
        ] {
            let b = Blocked {
                shape: shape.to_vec(),
                size_per_thread: spt.to_vec(),
                threads_per_dim: tpd.to_vec(),
            };
            assert!(b.is_distributed());
            let layout = Layout::Blocked(b.clone());
            for t in 0..b.threads() {
                for r in 0..b.regs() {
                    assert_eq!(b.owner(&layout.coords(t, r)), (t, r), "{b:?}");
                }
            }
        }
        let replicated = Blocked {
            shape: vec![4, 4],
            size_per_thread: vec![1, 4],
            threads_per_dim: vec![8, 1],
        };
        assert!(!replicated.is_distributed());
    }

    /// `is_primary_register` (with its shortcut when `size_per_thread <= shape`) against its
    /// definition: the first register of the invocation holding its coordinate.
    #[test]
    fn primary_registers_match_their_definition() {
        for shape in [1, 2, 4, 8, 16, 64] {
            for spt in [1, 2, 4, 8, 16, 32] {
                for tpd in [1, 2, 4, 8] {
                    let b = Blocked {
                        shape: vec![shape],
                        size_per_thread: vec![spt],
                        threads_per_dim: vec![tpd],
                    };
                    for r in 0..b.regs_per_dim(0) {
                        let at = |r: u32| b.register_base(0, r) % shape;
                        let first = (0..r).all(|earlier| at(earlier) != at(r));
                        assert_eq!(
                            b.is_primary_register(0, r),
                            first,
                            "shape {shape}, spt {spt}, tpd {tpd}, register {r}"
                        );
                    }
                }
            }
        }
    }
}
