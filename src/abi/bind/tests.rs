//! The binder's checks, one test per kind of problem, plus the happy paths by name, by position
//! and in order, and the device form of buffer elements.
use super::*;
use crate::abi::{self, BufferBinding, PushField, PushRepr};

fn pointer(name: &str, pointee: ScalarType, mutable: bool) -> Param {
    Param {
        name: name.to_string(),
        kind: ParamKind::Pointer { pointee, mutable },
    }
}

fn scalar(name: &str, ty: ScalarType) -> Param {
    Param {
        name: name.to_string(),
        kind: ParamKind::Scalar(ty),
    }
}

/// `kernel scale(x: *f32, out: *mut f32, n: i32, s: f32, const BLOCK: i32)`.
fn scale() -> Params {
    Params::new(
        "scale",
        vec![
            pointer("x", ScalarType::F32, false),
            pointer("out", ScalarType::F32, true),
            scalar("n", ScalarType::I32),
            scalar("s", ScalarType::F32),
        ],
        vec!["BLOCK".to_string()],
    )
}

fn floats(values: &[f32]) -> HostBuffer {
    HostBuffer::from_f32(values, vec![values.len()])
}

fn input(values: &[f32]) -> Value {
    Value::Buffer {
        buffer: floats(values),
        writable: false,
    }
}

fn output(values: &[f32]) -> Value {
    Value::Buffer {
        buffer: floats(values),
        writable: true,
    }
}

fn untyped(value: Literal) -> Value {
    Value::Scalar { value, ty: None }
}

fn typed(value: Literal, ty: ScalarType) -> Value {
    Value::Scalar {
        value,
        ty: Some(ty),
    }
}

/// Binds `values` to `scale` and returns the problem, checking that the error names the kernel.
fn problem<'k>(values: Vec<(Key<'k>, Value)>) -> Problem {
    let params = scale();
    let mut binder = Binder::new(&params);
    let result = values
        .into_iter()
        .try_for_each(|(key, value)| binder.bind(key, value).map(|_| ()))
        .and_then(|()| binder.finish().map(|_| ()));
    let error = result.expect_err("the arguments must be refused");
    assert_eq!(error.kernel, "scale");
    error.problem
}

/// The one-sentence message of `problem` for kernel `scale`.
fn message(problem: Problem) -> String {
    BindError {
        kernel: "scale".to_string(),
        problem,
    }
    .message()
}

/// Every parameter of `scale` right, in the order x, out, n, s.
fn full() -> Vec<(Key<'static>, Value)> {
    vec![
        (Key::Name("x"), input(&[1.0, 2.0])),
        (Key::Name("out"), output(&[0.0, 0.0])),
        (Key::Name("n"), typed(Literal::Int(2), ScalarType::I32)),
        (Key::Name("s"), typed(Literal::Float(0.5), ScalarType::F32)),
    ]
}

fn with(key: Key<'static>, value: Value) -> Vec<(Key<'static>, Value)> {
    let mut values = full();
    let slot = values
        .iter_mut()
        .find(|(k, _)| *k == key)
        .expect("a key of full()");
    slot.1 = value;
    values
}

#[test]
fn values_by_name_and_position_come_out_in_parameter_order() {
    let params = scale();
    let mut binder = Binder::new(&params);
    assert_eq!(binder.bind("s", untyped(Literal::Float(0.5))), Ok(3));
    assert_eq!(binder.bind(1, output(&[0.0])), Ok(1));
    assert_eq!(binder.bind(0, input(&[1.0])), Ok(0));
    assert_eq!(
        binder.bind("n", typed(Literal::Int(1), ScalarType::I64)),
        Ok(2),
        "a value of another integer type that fits is taken"
    );
    assert_eq!(
        binder.finish(),
        Ok(vec![
            KernelArg::Buffer(floats(&[1.0])),
            KernelArg::Buffer(floats(&[0.0])),
            KernelArg::Scalar(Literal::Int(1)),
            KernelArg::Scalar(Literal::Float(0.5)),
        ])
    );
}

#[test]
fn an_untyped_integer_becomes_a_float_for_a_float_parameter() {
    let params = scale();
    let mut binder = Binder::new(&params);
    for (key, value) in with(Key::Name("s"), untyped(Literal::Int(2))) {
        binder.bind(key, value).expect("fits");
    }
    let args = binder.finish().expect("complete");
    assert_eq!(args[3], KernelArg::Scalar(Literal::Float(2.0)));
    // A typed integer is not a float.
    let refused = problem(with(
        Key::Name("s"),
        typed(Literal::Int(2), ScalarType::I32),
    ));
    assert_eq!(
        message(refused),
        "`s` is a f32 scalar, but the launch passes a i32 scalar"
    );
}

#[test]
fn an_unknown_name_lists_the_parameters() {
    let found = problem(vec![(Key::Name("nn"), untyped(Literal::Int(2)))]);
    assert_eq!(
        found,
        Problem::UnknownName {
            name: "nn".into(),
            params: vec!["x".into(), "out".into(), "n".into(), "s".into()],
        }
    );
    assert_eq!(
        message(found),
        "no parameter `nn` (the parameters are `x`, `out`, `n`, `s`)"
    );
}

#[test]
fn a_const_is_named_as_one() {
    let found = problem(vec![(Key::Name("BLOCK"), untyped(Literal::Int(64)))]);
    assert_eq!(
        found,
        Problem::Const {
            name: "BLOCK".into()
        }
    );
    assert_eq!(
        message(found),
        "`BLOCK` is a const, set when the kernel is compiled, not at launch"
    );
}

#[test]
fn a_position_past_the_parameters_is_refused() {
    let found = problem(vec![(Key::Position(4), untyped(Literal::Int(1)))]);
    assert_eq!(
        found,
        Problem::UnknownPosition {
            position: 4,
            count: 4
        }
    );
    assert_eq!(
        message(found),
        "there is no parameter at position 4 (counting from 0): the kernel takes 4 arguments"
    );
}

#[test]
fn a_parameter_given_twice_is_refused_by_name_or_position() {
    let mut values = full();
    values.push((Key::Name("n"), untyped(Literal::Int(3))));
    let found = problem(values);
    assert_eq!(found, Problem::GivenTwice { param: "n".into() });
    assert_eq!(message(found), "`n` is given twice");
    let mut values = full();
    values.push((Key::Position(0), input(&[1.0])));
    assert_eq!(problem(values), Problem::GivenTwice { param: "x".into() });
    // `param` refuses it before a value is read, as the CLI needs.
    let params = scale();
    let mut binder = Binder::new(&params);
    binder.bind("x", input(&[1.0])).unwrap();
    assert!(binder.param("x").is_err());
    assert_eq!(binder.param("out").map(|(index, _)| index), Ok(1));
}

#[test]
fn missing_parameters_are_listed_in_order() {
    let found = problem(vec![(Key::Name("s"), untyped(Literal::Float(1.0)))]);
    assert_eq!(
        found,
        Problem::Missing {
            params: scale().runtime[..3].to_vec()
        }
    );
    assert_eq!(message(found), "missing arguments `x`, `out`, `n`");
    let mut values = full();
    values.remove(1);
    assert_eq!(message(problem(values)), "missing argument `out`");
}

#[test]
fn a_value_of_the_wrong_kind_or_element_type_is_refused() {
    let ints = Value::Buffer {
        buffer: HostBuffer::from_i32(&[1, 2], vec![2]),
        writable: false,
    };
    let cases: Vec<(Key<'static>, Value, &str)> = vec![
        (
            Key::Name("x"),
            ints,
            "`x` is a *f32, but the launch passes a read-only buffer of i32",
        ),
        (
            Key::Name("out"),
            untyped(Literal::Int(3)),
            "`out` is a *mut f32, but the launch passes the integer 3",
        ),
        (
            Key::Name("n"),
            output(&[1.0]),
            "`n` is a i32 scalar, but the launch passes a buffer of f32",
        ),
        (
            Key::Name("n"),
            typed(Literal::Float(2.0), ScalarType::F32),
            "`n` is a i32 scalar, but the launch passes a f32 scalar",
        ),
        (
            Key::Name("n"),
            untyped(Literal::Float(2.5)),
            "`n` is a i32 scalar, but the launch passes the float 2.5",
        ),
        (
            Key::Name("n"),
            untyped(Literal::Bool(true)),
            "`n` is a i32 scalar, but the launch passes the bool true",
        ),
        (
            Key::Name("s"),
            untyped(Literal::Bool(false)),
            "`s` is a f32 scalar, but the launch passes the bool false",
        ),
    ];
    for (key, value, expected) in cases {
        let found = problem(with(key, value));
        assert!(matches!(found, Problem::Mismatch { .. }), "{found:?}");
        assert_eq!(message(found), expected);
    }
}

#[test]
fn a_bool_parameter_takes_only_a_bool() {
    let params = Params::new("flag", vec![scalar("on", ScalarType::Bool)], Vec::new());
    assert!(params
        .check(&[KernelArg::Scalar(Literal::Bool(true))])
        .is_ok());
    let error = params
        .check(&[KernelArg::Scalar(Literal::Int(1))])
        .expect_err("an integer is not a bool");
    assert_eq!(
        error.message(),
        "`on` is a bool scalar, but the launch passes the integer 1"
    );
}

#[test]
fn a_read_only_buffer_is_refused_for_a_written_parameter() {
    let found = problem(with(Key::Name("out"), input(&[0.0, 0.0])));
    assert_eq!(
        found,
        Problem::ReadOnly {
            param: "out".into(),
            elem: ScalarType::F32
        }
    );
    assert_eq!(
        message(found),
        "`out` is a *mut f32 the kernel writes, but the launch passes a read-only buffer"
    );
    // A writable buffer for a read-only parameter is fine.
    let params = scale();
    let mut binder = Binder::new(&params);
    assert!(binder.bind("x", output(&[1.0])).is_ok());
}

#[test]
fn integers_must_fit_their_parameter_type() {
    let found = problem(with(Key::Name("n"), untyped(Literal::Int(1 << 31))));
    assert_eq!(
        found,
        Problem::OutOfRange {
            param: "n".into(),
            ty: ScalarType::I32,
            value: 1 << 31
        }
    );
    assert_eq!(
        message(found),
        "`n` is a i32 scalar, but the launch passes 2147483648, which does not fit in i32 \
         (-2147483648 to 2147483647)"
    );
    let typed_too = problem(with(
        Key::Name("n"),
        typed(Literal::Int(-(1 << 40)), ScalarType::I64),
    ));
    assert!(matches!(typed_too, Problem::OutOfRange { .. }));
    let unsigned = Params::new(
        "sizes",
        vec![scalar("a", ScalarType::U64), scalar("b", ScalarType::U8)],
        Vec::new(),
    );
    let ok = [
        KernelArg::Scalar(Literal::Int(u64::MAX as i128)),
        KernelArg::Scalar(Literal::Int(255)),
    ];
    assert!(unsigned.check(&ok).is_ok());
    for bad in [
        [
            KernelArg::Scalar(Literal::Int(-1)),
            KernelArg::Scalar(Literal::Int(0)),
        ],
        [
            KernelArg::Scalar(Literal::Int(0)),
            KernelArg::Scalar(Literal::Int(256)),
        ],
    ] {
        let error = unsigned.check(&bad).expect_err("out of range");
        assert!(
            matches!(error.problem, Problem::OutOfRange { .. }),
            "{error:?}"
        );
    }
}

#[test]
fn a_buffer_of_partial_elements_is_refused() {
    let ragged = HostBuffer {
        elem: ScalarType::F32,
        shape: vec![2],
        data: vec![0; 7],
    };
    let found = problem(with(
        Key::Name("x"),
        Value::Buffer {
            buffer: ragged,
            writable: false,
        },
    ));
    assert_eq!(
        message(found),
        "`x` holds 7 bytes, not a whole number of f32 elements"
    );
}

#[test]
fn ordered_arguments_are_checked_by_count_and_kind() {
    let params = scale();
    let args = vec![
        KernelArg::Buffer(floats(&[1.0])),
        KernelArg::Buffer(floats(&[0.0])),
        KernelArg::Scalar(Literal::Int(1)),
        KernelArg::Scalar(Literal::Int(2)),
    ];
    assert_eq!(params.check(&args), Ok(()), "an integer fits a float");
    let error = params.check(&args[..3]).expect_err("short");
    assert_eq!(
        error.problem,
        Problem::Count {
            expected: 4,
            given: 3
        }
    );
    assert_eq!(
        error.to_string(),
        "bad arguments for kernel `scale`: expected 4 arguments, got 3"
    );
    let mut swapped = args.clone();
    swapped.swap(0, 2);
    assert_eq!(
        params.check(&swapped).map_err(|e| e.message()),
        Err("`x` is a *f32, but the launch passes the integer 1".to_string())
    );
}

fn buffer_binding(binding: u32, param: &str, index: u32, elem: ScalarType) -> BufferBinding {
    BufferBinding {
        binding,
        param: param.to_string(),
        param_index: index,
        elem,
        writable: binding == 1,
    }
}

fn push_field(param: &str, index: u32, ty: ScalarType) -> PushField {
    PushField {
        param: param.to_string(),
        param_index: index,
        offset: 32,
        ty,
        repr: PushRepr::for_scalar(ty),
    }
}

fn abi_of(buffers: Vec<BufferBinding>, push_fields: Vec<PushField>) -> Abi {
    Abi {
        kernel: "mixed".to_string(),
        entry_point: "main".to_string(),
        workgroup_size: [1, 1, 1],
        buffers,
        push_fields,
        push_bytes: 40,
        status_binding: None,
        uniform_binding: None,
        uniform_bytes: 0,
        shared_bytes: 0,
        features: Default::default(),
        asserts: Vec::new(),
        contracts: Vec::new(),
    }
}

#[test]
fn the_abi_gives_the_parameters_in_declaration_order() {
    // `kernel mixed(n: u32, x: *f32, out: *mut i8)`: scalars and buffers interleave.
    let abi = abi_of(
        vec![
            buffer_binding(0, "x", 1, ScalarType::F32),
            buffer_binding(1, "out", 2, ScalarType::I8),
        ],
        vec![push_field("n", 0, ScalarType::U32)],
    );
    assert_eq!(
        Params::from_abi(&abi),
        Ok(Params::new(
            "mixed",
            vec![
                scalar("n", ScalarType::U32),
                pointer("x", ScalarType::F32, false),
                pointer("out", ScalarType::I8, true),
            ],
            Vec::new(),
        ))
    );
    for index in [1, 3] {
        let broken = abi_of(
            vec![
                buffer_binding(0, "x", 1, ScalarType::F32),
                buffer_binding(1, "out", index, ScalarType::I8),
            ],
            vec![push_field("n", 0, ScalarType::U32)],
        );
        let error = Params::from_abi(&broken).expect_err("indices not 0..3 once each");
        assert_eq!(
            error.problem,
            Problem::BadIndex {
                param: "out".into(),
                index,
                count: 3
            }
        );
    }
}

#[test]
fn bool_elements_take_a_u32_word_on_the_device() {
    assert_eq!(abi::device_elem_bytes(ScalarType::Bool), 4);
    assert_eq!(abi::device_elem_bytes(ScalarType::F16), 2);
    assert_eq!(abi::device_elem_bytes(ScalarType::I64), 8);
    let host = HostBuffer {
        elem: ScalarType::Bool,
        shape: vec![3],
        data: vec![1, 0, 7],
    };
    let mut device = vec![0xffu8; 12];
    abi::write_device_elems(&host, &mut device);
    assert_eq!(device, [1, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0]);
    let mut back = HostBuffer::zeros(ScalarType::Bool, vec![3]);
    abi::read_device_elems(&device, &mut back);
    assert_eq!(back.data, [1, 0, 1]);
    let floats = floats(&[1.5, -2.0]);
    let mut device = vec![0u8; 8];
    abi::write_device_elems(&floats, &mut device);
    let mut back = HostBuffer::zeros(ScalarType::F32, vec![2]);
    abi::read_device_elems(&device, &mut back);
    assert_eq!(back, floats);
}
