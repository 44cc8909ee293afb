//! The emission context: the rspirv builder plus caches for types and constants (rspirv merges
//! types but not constants), capabilities and device features, and a generic instruction helper.
use crate::abi::Features;
use crate::base::{Diagnostic, ScalarType};
use rspirv::dr::{Builder, InsertPoint, Instruction, Operand};
use spirv::{Capability, Op, StorageClass, Word};
use std::collections::{BTreeSet, HashMap};
use std::hash::{BuildHasherDefault, Hasher};

pub struct Ctx {
    pub b: Builder,
    pub glsl: Word,
    consts: FastMap<(Word, u64), Word>,
    /// The bit pattern of each constant in `consts`, by id (`const_bits_of`).
    const_values: FastMap<Word, u64>,
    /// Types by a small key: rspirv finds an existing type by a linear scan of all types, which
    /// showed up as a tenth of the compile time of large CPU schedules.
    types: FastMap<TypeKey, Word>,
    capabilities: BTreeSet<u32>,
    extensions: BTreeSet<String>,
    pub features: Features,
    /// `OpVariable`s of Function storage, placed at the top of the entry block at the end.
    pub function_vars: Vec<Instruction>,
    /// The module uses the Vulkan memory model (`use_vulkan_memory_model`).
    pub vulkan_memory_model: bool,
}

/// Maps a builder error (always a bug in the emitter) to an internal diagnostic.
pub fn ice<E: std::fmt::Debug>(e: E) -> Diagnostic {
    Diagnostic::internal(format!("SPIR-V builder: {e:?}"))
}

pub type R<T> = Result<T, Diagnostic>;

#[derive(Clone, Copy, PartialEq, Eq, Hash)]
enum TypeKey {
    Bool,
    Int(u32, bool),
    Float(u32),
    Pointer(u32, Word),
    Vector(Word, u32),
}

impl Ctx {
    pub fn new() -> Ctx {
        let mut b = Builder::new();
        b.set_version(1, 3);
        b.capability(Capability::Shader);
        let glsl = b.ext_inst_import("GLSL.std.450");
        b.memory_model(spirv::AddressingModel::Logical, spirv::MemoryModel::GLSL450);
        Ctx {
            b,
            glsl,
            consts: FastMap::default(),
            const_values: FastMap::default(),
            types: FastMap::default(),
            capabilities: BTreeSet::new(),
            extensions: BTreeSet::new(),
            features: Features::default(),
            function_vars: Vec::new(),
            vulkan_memory_model: false,
        }
    }

    /// Switches the module to the Vulkan memory model (cooperative matrices require it). Then
    /// workgroup memory accesses are non-private and barriers make writes available and
    /// visible (`workgroup_access`, `Emitter::barrier`), so that they synchronise invocations
    /// as under GLSL450; atomics keep their Device scope, which needs
    /// `VulkanMemoryModelDeviceScope`.
    pub fn use_vulkan_memory_model(&mut self) {
        self.capability(Capability::VulkanMemoryModel);
        self.capability(Capability::VulkanMemoryModelDeviceScope);
        self.extension("SPV_KHR_vulkan_memory_model");
        self.b
            .memory_model(spirv::AddressingModel::Logical, spirv::MemoryModel::Vulkan);
        self.vulkan_memory_model = true;
    }

    /// The memory operand of a workgroup memory access: `NonPrivatePointer` under the Vulkan
    /// memory model (accesses that other invocations read after a barrier), none otherwise.
    pub fn workgroup_access(&self) -> Option<spirv::MemoryAccess> {
        self.vulkan_memory_model
            .then_some(spirv::MemoryAccess::NON_PRIVATE_POINTER)
    }
    /// Loads from workgroup memory (see `workgroup_access`).
    pub fn workgroup_load(&mut self, ty: Word, ptr: Word) -> R<Word> {
        let access = self.workgroup_access();
        self.b.load(ty, None, ptr, access, []).map_err(ice)
    }
    /// Stores to workgroup memory (see `workgroup_access`).
    pub fn workgroup_store(&mut self, ptr: Word, value: Word) -> R<()> {
        let access = self.workgroup_access();
        self.b.store(ptr, value, access, []).map_err(ice)
    }

    pub fn capability(&mut self, cap: Capability) {
        if self.capabilities.insert(cap as u32) {
            self.b.capability(cap);
        }
    }
    pub fn extension(&mut self, name: &str) {
        if self.extensions.insert(name.to_string()) {
            self.b.extension(name);
        }
    }

    // ---- types ---------------------------------------------------------------------------------

    pub fn void(&mut self) -> Word {
        self.b.type_void()
    }
    fn cached_type(&mut self, key: TypeKey, make: impl FnOnce(&mut Builder) -> Word) -> Word {
        if let Some(&id) = self.types.get(&key) {
            return id;
        }
        let id = make(&mut self.b);
        self.types.insert(key, id);
        id
    }
    pub fn bool_ty(&mut self) -> Word {
        self.cached_type(TypeKey::Bool, |b| b.type_bool())
    }
    pub fn vector(&mut self, elem: Word, n: u32) -> Word {
        self.cached_type(TypeKey::Vector(elem, n), |b| b.type_vector(elem, n))
    }
    pub fn int(&mut self, bits: u32, signed: bool) -> Word {
        match bits {
            8 => {
                self.capability(Capability::Int8);
                self.features.int8 = true;
            }
            16 => {
                self.capability(Capability::Int16);
                self.features.int16 = true;
            }
            64 => {
                self.capability(Capability::Int64);
                self.features.int64 = true;
            }
            _ => {}
        }
        self.cached_type(TypeKey::Int(bits, signed), |b| {
            b.type_int(bits, signed as u32)
        })
    }
    pub fn float(&mut self, bits: u32) -> Word {
        match bits {
            16 => {
                self.capability(Capability::Float16);
                self.features.float16 = true;
            }
            64 => {
                self.capability(Capability::Float64);
                self.features.float64 = true;
            }
            _ => {}
        }
        self.cached_type(TypeKey::Float(bits), |b| b.type_float(bits, None))
    }
    /// The widths of the float types the module has declared so far, ascending.
    pub fn float_widths(&self) -> Vec<u32> {
        let mut widths: Vec<u32> = self
            .types
            .keys()
            .filter_map(|key| match key {
                TypeKey::Float(bits) => Some(*bits),
                _ => None,
            })
            .collect();
        widths.sort_unstable();
        widths
    }
    pub fn u32(&mut self) -> Word {
        self.int(32, false)
    }
    pub fn i32(&mut self) -> Word {
        self.int(32, true)
    }
    pub fn f32(&mut self) -> Word {
        self.float(32)
    }
    /// The type registers of `ty` have (bf16 is computed in f32).
    pub fn compute_ty(&mut self, ty: ScalarType) -> Word {
        use ScalarType::*;
        match ty {
            Bool => self.bool_ty(),
            I8 | I16 | I32 | I64 => self.int(ty.bits(), true),
            U8 | U16 | U32 | U64 => self.int(ty.bits(), false),
            F16 | F32 | F64 => self.float(ty.bits()),
            BF16 => self.f32(),
        }
    }
    /// The element type of a storage buffer of `ty` (bool as u32, bf16 as u16 bits).
    pub fn storage_ty(&mut self, ty: ScalarType) -> Word {
        use ScalarType::*;
        match ty.bytes() {
            1 if ty != Bool => {
                self.capability(Capability::StorageBuffer8BitAccess);
                self.extension("SPV_KHR_8bit_storage");
                self.features.storage8 = true;
            }
            2 => {
                self.capability(Capability::StorageBuffer16BitAccess);
                self.extension("SPV_KHR_16bit_storage");
                self.features.storage16 = true;
            }
            _ => {}
        }
        match ty {
            Bool => self.u32(),
            BF16 => self.int(16, false),
            _ => self.compute_ty(ty),
        }
    }
    pub fn pointer(&mut self, class: StorageClass, pointee: Word) -> Word {
        self.cached_type(TypeKey::Pointer(class as u32, pointee), |b| {
            b.type_pointer(None, class, pointee)
        })
    }

    // ---- constants -----------------------------------------------------------------------------

    /// A constant of type `ty` with the given bit pattern (already in the type's width).
    pub fn const_bits(&mut self, ty: Word, bits: u64, wide: bool) -> Word {
        if let Some(&id) = self.consts.get(&(ty, bits)) {
            return id;
        }
        let id = if wide {
            self.b.constant_bit64(ty, bits)
        } else {
            self.b.constant_bit32(ty, bits as u32)
        };
        self.consts.insert((ty, bits), id);
        self.const_values.insert(id, bits);
        id
    }
    /// The bit pattern `const_bits` gave `id`, when `id` is one of its constants: sequences whose
    /// guards a known operand makes unnecessary (a divisor that is neither 0 nor -1) ask here.
    pub fn const_bits_of(&self, id: Word) -> Option<u64> {
        self.const_values.get(&id).copied()
    }
    pub fn const_bool(&mut self, value: bool) -> Word {
        let ty = self.bool_ty();
        if let Some(&id) = self.consts.get(&(ty, value as u64)) {
            return id;
        }
        let id = if value {
            self.b.constant_true(ty)
        } else {
            self.b.constant_false(ty)
        };
        self.consts.insert((ty, value as u64), id);
        id
    }
    pub fn const_u32(&mut self, value: u32) -> Word {
        let ty = self.u32();
        self.const_bits(ty, value as u64, false)
    }
    pub fn const_i32(&mut self, value: i32) -> Word {
        let ty = self.i32();
        self.const_bits(ty, value as u32 as u64, false)
    }
    pub fn const_f32(&mut self, value: f32) -> Word {
        let ty = self.f32();
        self.const_bits(ty, value.to_bits() as u64, false)
    }
    /// An integer constant of an int type given by its width and signedness (`value` wraps).
    pub fn const_int(&mut self, bits: u32, signed: bool, value: i128) -> Word {
        let ty = self.int(bits, signed);
        let raw = if bits == 64 {
            value as u64
        } else {
            let mask = (1u64 << bits) - 1;
            let v = (value as u64) & mask;
            // Narrow signed literals are sign extended into the 32-bit word.
            if signed && bits < 32 && (v >> (bits - 1)) & 1 == 1 {
                (v | !mask) & 0xFFFF_FFFF
            } else {
                v
            }
        };
        self.const_bits(ty, raw, bits == 64)
    }
    /// A float constant of the given width.
    pub fn const_float(&mut self, bits: u32, value: f64) -> Word {
        let ty = self.float(bits);
        match bits {
            16 => self.const_bits(ty, half::f16::from_f64(value).to_bits() as u64, false),
            32 => self.const_bits(ty, (value as f32).to_bits() as u64, false),
            _ => self.const_bits(ty, value.to_bits(), true),
        }
    }
    /// A constant of scalar type `ty` (registers' representation) from an f64 or int value.
    pub fn const_scalar(&mut self, ty: ScalarType, int: i128, float: f64) -> Word {
        use ScalarType::*;
        match ty {
            Bool => self.const_bool(int != 0),
            F16 => self.const_float(16, float),
            F32 => self.const_float(32, float),
            BF16 => self.const_float(32, round_bf16(float as f32) as f64),
            F64 => self.const_float(64, float),
            _ => self.const_int(ty.bits(), ty.is_signed_int(), int),
        }
    }

    // ---- instructions --------------------------------------------------------------------------

    /// Appends `op` with a result of type `ty` and id operands to the current block.
    pub fn op(&mut self, op: Op, ty: Word, operands: &[Word]) -> R<Word> {
        let id = self.b.id();
        let operands = operands.iter().map(|&w| Operand::IdRef(w)).collect();
        self.push(instruction(op, Some(ty), Some(id), operands))?;
        Ok(id)
    }
    fn push(&mut self, inst: Instruction) -> R<()> {
        self.b
            .insert_into_block(InsertPoint::End, inst)
            .map_err(ice)
    }
    /// `OpAccessChain` of `base` with `indices`, giving a pointer of type `ty`.
    pub fn access_chain(&mut self, ty: Word, base: Word, indices: &[Word]) -> R<Word> {
        let id = self.b.id();
        let mut operands = Vec::with_capacity(indices.len() + 1);
        operands.push(Operand::IdRef(base));
        operands.extend(indices.iter().map(|&w| Operand::IdRef(w)));
        self.push(instruction(Op::AccessChain, Some(ty), Some(id), operands))?;
        Ok(id)
    }
    /// Zero-extends or truncates an int to `bits` wide, giving type `ty` (UConvert needs an
    /// unsigned result type, so signed targets get a bitcast).
    pub fn uconvert(&mut self, bits: u32, signed: bool, x: Word) -> R<Word> {
        let u = self.int(bits, false);
        let y = self.op(Op::UConvert, u, &[x])?;
        if signed {
            let t = self.int(bits, true);
            self.op(Op::Bitcast, t, &[y])
        } else {
            Ok(y)
        }
    }
    /// A GLSL.std.450 extended instruction.
    pub fn glsl(&mut self, inst: u32, ty: Word, operands: &[Word]) -> R<Word> {
        let set = self.glsl;
        self.b
            .ext_inst(
                ty,
                None,
                set,
                inst,
                operands.iter().map(|&w| Operand::IdRef(w)),
            )
            .map_err(ice)
    }
    /// A Function-storage variable of `pointee` type (hoisted to the entry block).
    pub fn function_var(&mut self, pointee: Word) -> Word {
        self.hoisted_var(pointee, None)
    }
    /// A Function-storage variable of `pointee` type starting at the constant `init` (hoisted
    /// to the entry block, so it starts there once per invocation whatever loop uses it).
    pub fn function_var_initialized(&mut self, pointee: Word, init: Word) -> Word {
        self.hoisted_var(pointee, Some(init))
    }
    fn hoisted_var(&mut self, pointee: Word, init: Option<Word>) -> Word {
        let ptr = self.pointer(StorageClass::Function, pointee);
        let id = self.b.id();
        let mut operands = vec![Operand::StorageClass(StorageClass::Function)];
        operands.extend(init.map(Operand::IdRef));
        self.function_vars.push(Instruction::new(
            Op::Variable,
            Some(ptr),
            Some(id),
            operands,
        ));
        id
    }
    pub fn load(&mut self, ty: Word, ptr: Word) -> R<Word> {
        let id = self.b.id();
        self.push(instruction(
            Op::Load,
            Some(ty),
            Some(id),
            vec![Operand::IdRef(ptr)],
        ))?;
        Ok(id)
    }
    pub fn store(&mut self, ptr: Word, value: Word) -> R<()> {
        let operands = vec![Operand::IdRef(ptr), Operand::IdRef(value)];
        self.push(instruction(Op::Store, None, None, operands))
    }
    pub fn block_open(&self) -> bool {
        self.b.selected_block().is_some()
    }
    pub fn begin_block(&mut self, label: Word) -> R<()> {
        self.b.begin_block(Some(label)).map(|_| ()).map_err(ice)
    }
    pub fn branch(&mut self, target: Word) -> R<()> {
        self.b.branch(target).map_err(ice)
    }
    pub fn id(&mut self) -> Word {
        self.b.id()
    }
}

/// Rounds an f32 to the nearest bf16 (ties to even), returned as f32.
pub fn round_bf16(x: f32) -> f32 {
    if x.is_nan() {
        return x;
    }
    let bits = x.to_bits();
    let rounded = bits.wrapping_add(0x7FFF + ((bits >> 16) & 1)) & 0xFFFF_0000;
    f32::from_bits(rounded)
}

/// An instruction with its grammar entry found by opcode in a table built once: rspirv's
/// `Instruction::new` scans its ~700-entry grammar for every instruction, which was a sixth of
/// the emission time of large kernels.
fn instruction(
    op: Op,
    result_type: Option<Word>,
    result_id: Option<Word>,
    operands: Vec<Operand>,
) -> Instruction {
    use rspirv::grammar::{Instruction as Class, INSTRUCTION_TABLE};
    static BY_OPCODE: std::sync::OnceLock<Vec<Option<&'static Class<'static>>>> =
        std::sync::OnceLock::new();
    let table = BY_OPCODE.get_or_init(|| {
        let last = INSTRUCTION_TABLE
            .iter()
            .map(|c| c.opcode as usize)
            .max()
            .unwrap_or(0);
        let mut table = vec![None; last + 1];
        for class in INSTRUCTION_TABLE.iter() {
            table[class.opcode as usize].get_or_insert(class);
        }
        table
    });
    match table.get(op as usize).copied().flatten() {
        Some(class) => Instruction {
            class,
            result_type,
            result_id,
            operands,
        },
        None => Instruction::new(op, result_type, result_id, operands),
    }
}

/// A hash map for the emitter's own keys (ids, type keys, layouts), hashed multiplicatively
/// (the Fx scheme) instead of with SipHash: its lookups were a tenth of the emission time of
/// large kernels, and none of its keys come from outside the compiler.
pub(crate) type FastMap<K, V> = HashMap<K, V, BuildHasherDefault<FastHasher>>;

#[derive(Default, Clone, Copy)]
pub(crate) struct FastHasher(u64);

impl FastHasher {
    fn add(&mut self, word: u64) {
        self.0 = (self.0.rotate_left(5) ^ word).wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
    }
}

impl Hasher for FastHasher {
    fn write(&mut self, bytes: &[u8]) {
        for chunk in bytes.chunks(8) {
            let mut word = [0u8; 8];
            word[..chunk.len()].copy_from_slice(chunk);
            self.add(u64::from_le_bytes(word));
        }
    }
    fn write_u8(&mut self, n: u8) {
        self.add(n.into());
    }
    fn write_u32(&mut self, n: u32) {
        self.add(n.into());
    }
    fn write_u64(&mut self, n: u64) {
        self.add(n);
    }
    fn write_usize(&mut self, n: usize) {
        self.add(n as u64);
    }
    fn finish(&self) -> u64 {
        self.0
    }
}
