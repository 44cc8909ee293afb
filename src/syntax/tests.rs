//! Tests of the syntax stage: tree shapes of the reference's examples, precedence, literals,
//! recovery and robustness on hostile inputs.
use super::ast::*;
use super::parse;
use crate::base::{diag, Diagnostics, FileId, ScalarType, SourceMap};

fn parse_ok(text: &str) -> File {
    let (file, diags) = parse(text, FileId(0));
    assert!(
        diags.is_empty(),
        "unexpected diagnostics for {text:?}:\n{}",
        render(text, &diags)
    );
    file
}

fn render(text: &str, diags: &Diagnostics) -> String {
    let mut sources = SourceMap::new();
    sources.add("test.tk", text);
    diag::render(diags, &sources, false)
}

#[allow(dead_code)]
fn codes(text: &str) -> Vec<&'static str> {
    let (_, diags) = parse(text, FileId(0));
    diags.iter().map(|d| d.code).collect()
}

/// Writes an expression back as fully parenthesised text, to test precedence.
fn show(expr: &Expr) -> String {
    match &expr.kind {
        ExprKind::Int(v) => v.to_string(),
        ExprKind::Float(v) => format!("{v:?}"),
        ExprKind::Bool(b) => b.to_string(),
        ExprKind::Str(s) => format!("{s:?}"),
        ExprKind::Path(p) => names(p),
        ExprKind::Unary { op, operand } => {
            let sym = match op {
                UnaryOp::Neg => "-",
                UnaryOp::Not => "!",
                UnaryOp::BitNot => "~",
            };
            format!("({sym}{})", show(operand))
        }
        ExprKind::Binary { op, lhs, rhs } => {
            format!("({} {} {})", show(lhs), op.symbol(), show(rhs))
        }
        ExprKind::Call { callee, args } => {
            let args: Vec<String> = args
                .iter()
                .map(|a| {
                    let value = match &a.value {
                        ArgValue::Expr(e) => show(e),
                        ArgValue::Type(t) => format!("{:?}", t.kind),
                    };
                    match &a.name {
                        Some(n) => format!("{}: {value}", n.name),
                        None => value,
                    }
                })
                .collect();
            format!("{}({})", names(callee), args.join(", "))
        }
        ExprKind::Index { base, slices } => {
            let slices: Vec<&str> = slices
                .iter()
                .map(|s| match s {
                    Slice::Full(_) => ":",
                    Slice::NewAxis(_) => "None",
                })
                .collect();
            format!("{}[{}]", show(base), slices.join(", "))
        }
        ExprKind::Cast { value, ty } => format!("({} as {:?})", show(value), ty.ty),
        ExprKind::List(items) => {
            let items: Vec<String> = items.iter().map(show).collect();
            format!("[{}]", items.join(", "))
        }
        ExprKind::Block(b) => format!("{{{} stmts; {}}}", b.stmts.len(), tail(b)),
        ExprKind::If {
            cond,
            then_block,
            else_branch,
        } => {
            let else_text = else_branch
                .as_ref()
                .map_or(String::new(), |e| format!(" else {}", show(e)));
            format!("if {} {{{}}}{else_text}", show(cond), tail(then_block))
        }
        ExprKind::Error => "<error>".to_string(),
    }
}

fn tail(block: &Block) -> String {
    block.tail.as_ref().map_or(String::new(), |e| show(e))
}

fn names(path: &[Ident]) -> String {
    path.iter()
        .map(|i| i.name.as_str())
        .collect::<Vec<_>>()
        .join("::")
}

/// Parses `text` as the value of `let _ = text;` and shows it.
fn expr(text: &str) -> String {
    let file = parse_ok(&format!("fn f() {{ let v = {text}; }}"));
    let ItemKind::Fn(f) = &file.items[0].kind else {
        panic!("not a fn")
    };
    let StmtKind::Let { value, .. } = &f.body.stmts[0].kind else {
        panic!("not a let")
    };
    show(value)
}

const VECTOR_ADD: &str = r#"
/// out[i] = x[i] + y[i]
#[grid(cdiv(n, BLOCK))]
kernel vector_add(x: *f32, y: *f32, out: *mut f32, n: i32, const BLOCK: i32 = 1024) {
    let offs = program_id(0) * BLOCK + arange(0, BLOCK);   // i32[BLOCK]
    let mask = offs < n;                                    // bool[BLOCK]
    let a = load(x + offs, mask: mask);                     // f32[BLOCK], 0 where masked off
    let b = load(y + offs, mask: mask);
    store(out + offs, a + b, mask: mask);
}
"#;

#[test]
fn first_kernel_shape() {
    let file = parse_ok(VECTOR_ADD);
    assert_eq!(file.items.len(), 1);
    let item = &file.items[0];
    assert_eq!(item.docs, vec!["out[i] = x[i] + y[i]".to_string()]);
    assert_eq!(item.attrs.len(), 1);
    assert_eq!(item.attrs[0].name.name, "grid");
    match &item.attrs[0].args[..] {
        [AttrArg::Expr(e)] => assert_eq!(show(e), "cdiv(n, BLOCK)"),
        other => panic!("bad attr args {other:?}"),
    }
    let ItemKind::Kernel(k) = &item.kind else {
        panic!("not a kernel")
    };
    assert_eq!(k.name.name, "vector_add");
    assert_eq!(k.params.len(), 5);
    match &k.params[0] {
        KernelParam::Value { name, ty } => {
            assert_eq!(name.name, "x");
            assert_eq!(
                ty.kind,
                TyKind::Ptr {
                    mutable: false,
                    pointee: ScalarType::F32
                }
            );
        }
        other => panic!("{other:?}"),
    }
    match &k.params[2] {
        KernelParam::Value { ty, .. } => assert_eq!(
            ty.kind,
            TyKind::Ptr {
                mutable: true,
                pointee: ScalarType::F32
            }
        ),
        other => panic!("{other:?}"),
    }
    match &k.params[3] {
        KernelParam::Value { ty, .. } => assert_eq!(ty.kind, TyKind::Scalar(ScalarType::I32)),
        other => panic!("{other:?}"),
    }
    match &k.params[4] {
        KernelParam::Const { name, ty, default } => {
            assert_eq!(name.name, "BLOCK");
            assert_eq!(ty.ty, ScalarType::I32);
            assert_eq!(default.as_ref().map(show).as_deref(), Some("1024"));
        }
        other => panic!("{other:?}"),
    }
    let body = &k.body;
    assert_eq!(body.stmts.len(), 5);
    assert!(body.tail.is_none());
    let lets: Vec<(String, String)> = body.stmts[..4]
        .iter()
        .map(|s| match &s.kind {
            StmtKind::Let {
                name,
                value,
                mutable: false,
                ty: None,
            } => (name.name.clone(), show(value)),
            other => panic!("{other:?}"),
        })
        .collect();
    assert_eq!(
        lets,
        vec![
            (
                "offs".to_string(),
                "((program_id(0) * BLOCK) + arange(0, BLOCK))".to_string()
            ),
            ("mask".to_string(), "(offs < n)".to_string()),
            ("a".to_string(), "load((x + offs), mask: mask)".to_string()),
            ("b".to_string(), "load((y + offs), mask: mask)".to_string()),
        ]
    );
    match &body.stmts[4].kind {
        StmtKind::Expr(e) => assert_eq!(show(e), "store((out + offs), (a + b), mask: mask)"),
        other => panic!("{other:?}"),
    }
    // Spans: the item covers the attribute through the closing brace.
    let text_start = VECTOR_ADD.find("#[grid").unwrap() as u32;
    assert_eq!(item.span.start, text_start);
    assert_eq!(item.span.end as usize, VECTOR_ADD.rfind('}').unwrap() + 1);
    assert_eq!(
        &VECTOR_ADD[body.stmts[1].span.start as usize..body.stmts[1].span.end as usize],
        "let mask = offs < n;"
    );
}

#[test]
fn expr_ids_are_unique() {
    let file = parse_ok(VECTOR_ADD);
    let ItemKind::Kernel(k) = &file.items[0].kind else {
        panic!()
    };
    let mut ids = Vec::new();
    fn walk(e: &Expr, ids: &mut Vec<u32>) {
        ids.push(e.id.0);
        match &e.kind {
            ExprKind::Binary { lhs, rhs, .. } => {
                walk(lhs, ids);
                walk(rhs, ids);
            }
            ExprKind::Call { args, .. } => {
                for a in args {
                    if let ArgValue::Expr(e) = &a.value {
                        walk(e, ids);
                    }
                }
            }
            _ => {}
        }
    }
    for s in &k.body.stmts {
        match &s.kind {
            StmtKind::Let { value, .. } | StmtKind::Expr(value) => walk(value, &mut ids),
            _ => {}
        }
    }
    let count = ids.len();
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(ids.len(), count);
    assert!(count > 20);
}

const ITEMS: &str = r#"
use math;                       // stdlib module stdlib/math.tk; call as math::gelu(x)
use "common/act.tk";            // a file relative to this one; call as act::relu(x)
const EPS: f32 = 1e-5;          // global compile-time constant

fn gelu(x) { 0.5 * x * (1.0 + erf(x * 0.7071067811865476)) }   // generic, inlined per call
fn scale(x: f16, s: f16) -> f16 { x * s }                         // element type fixed, any shape

#[grid(n_rows)]
#[threads(128)]                  // optional workgroup size
#[autotune(key = [n_cols], configs = [{BLOCK = 256, threads = 64}, {BLOCK = 1024, threads = 256}])]
kernel name(n_rows: i32, n_cols: i32, const BLOCK: i32) { }
"#;

#[test]
fn item_examples_shape() {
    let file = parse_ok(ITEMS);
    assert_eq!(file.items.len(), 6);
    match &file.items[0].kind {
        ItemKind::Use(UseItem::Module(m)) => assert_eq!(m.name, "math"),
        other => panic!("{other:?}"),
    }
    match &file.items[1].kind {
        ItemKind::Use(UseItem::File { path, span }) => {
            assert_eq!(path, "common/act.tk");
            assert_eq!(
                &ITEMS[span.start as usize..span.end as usize],
                "\"common/act.tk\""
            );
        }
        other => panic!("{other:?}"),
    }
    match &file.items[2].kind {
        ItemKind::Const(c) => {
            assert_eq!(c.name.name, "EPS");
            assert_eq!(c.ty.ty, ScalarType::F32);
            assert_eq!(c.value.kind, ExprKind::Float(1e-5));
        }
        other => panic!("{other:?}"),
    }
    match &file.items[3].kind {
        ItemKind::Fn(f) => {
            assert_eq!(f.name.name, "gelu");
            assert!(matches!(&f.params[..], [FnParam::Value { ty: None, .. }]));
            assert!(f.ret.is_none());
            assert!(f.body.stmts.is_empty());
            assert_eq!(
                show(f.body.tail.as_ref().unwrap()),
                "((0.5 * x) * (1.0 + erf((x * 0.7071067811865476))))"
            );
        }
        other => panic!("{other:?}"),
    }
    match &file.items[4].kind {
        ItemKind::Fn(f) => {
            assert_eq!(f.params.len(), 2);
            match &f.params[1] {
                FnParam::Value { name, ty: Some(ty) } => {
                    assert_eq!(name.name, "s");
                    assert_eq!(ty.kind, TyKind::Scalar(ScalarType::F16));
                }
                other => panic!("{other:?}"),
            }
            assert_eq!(
                f.ret.as_ref().map(|t| &t.kind),
                Some(&TyKind::Scalar(ScalarType::F16))
            );
            assert_eq!(show(f.body.tail.as_ref().unwrap()), "(x * s)");
        }
        other => panic!("{other:?}"),
    }
    let kernel = &file.items[5];
    let attrs: Vec<&str> = kernel.attrs.iter().map(|a| a.name.name.as_str()).collect();
    assert_eq!(attrs, ["grid", "threads", "autotune"]);
    let autotune = &kernel.attrs[2];
    match &autotune.args[..] {
        [AttrArg::Named {
            name: key,
            value: AttrVal::List { items: keys, .. },
        }, AttrArg::Named {
            name: configs,
            value: AttrVal::List { items, .. },
        }] => {
            assert_eq!(key.name, "key");
            assert!(matches!(&keys[..], [AttrVal::Expr(e)] if show(e) == "n_cols"));
            assert_eq!(configs.name, "configs");
            assert_eq!(items.len(), 2);
            match &items[1] {
                AttrVal::Record { fields, .. } => {
                    let shown: Vec<(String, String)> = fields
                        .iter()
                        .map(|(n, e)| (n.name.clone(), show(e)))
                        .collect();
                    assert_eq!(
                        shown,
                        vec![
                            ("BLOCK".to_string(), "1024".to_string()),
                            ("threads".to_string(), "256".to_string())
                        ]
                    );
                }
                other => panic!("{other:?}"),
            }
        }
        other => panic!("{other:?}"),
    }
    assert!(matches!(&kernel.kind, ItemKind::Kernel(k) if k.body.stmts.is_empty()));
}

#[test]
fn precedence_follows_the_table() {
    // postfix > unary > * / % > + - > << >> > & > ^ > | > comparisons > && > ||
    assert_eq!(expr("a + b * c"), "(a + (b * c))");
    assert_eq!(expr("a * b + c"), "((a * b) + c)");
    assert_eq!(expr("a - b - c"), "((a - b) - c)");
    assert_eq!(expr("a / b % c"), "((a / b) % c)");
    assert_eq!(expr("-x as f32"), "(-(x as F32))");
    assert_eq!(expr("-x * y"), "((-x) * y)");
    assert_eq!(expr("!a[:, None]"), "(!a[:, None])");
    assert_eq!(expr("~a as i64"), "(~(a as I64))");
    assert_eq!(expr("a + b << c"), "((a + b) << c)");
    assert_eq!(expr("a << b & c"), "((a << b) & c)");
    assert_eq!(expr("a & b == c"), "((a & b) == c)");
    assert_eq!(expr("a & b ^ c | d"), "(((a & b) ^ c) | d)");
    assert_eq!(expr("a | b ^ c & d"), "(a | (b ^ (c & d)))");
    assert_eq!(expr("a | b < c"), "((a | b) < c)");
    assert_eq!(expr("a < b && c >= d"), "((a < b) && (c >= d))");
    assert_eq!(expr("a && b || c && d"), "((a && b) || (c && d))");
    assert_eq!(expr("a || b || c"), "((a || b) || c)");
    assert_eq!(expr("(a + b) * c"), "((a + b) * c)");
    assert_eq!(expr("--x"), "(-(-x))");
    assert_eq!(expr("-inf"), "(-inf)");
    assert_eq!(expr("x as f32 as i32"), "((x as F32) as I32)");
    assert_eq!(expr("x[:, None][None, :]"), "x[:, None][None, :]");
}

#[test]
fn calls_paths_lists_and_blocks() {
    assert_eq!(
        expr("load(p, mask: m, other: 0.0)"),
        "load(p, mask: m, other: 0.0)"
    );
    assert_eq!(expr("zeros([4], f16)"), "zeros([4], Scalar(F16))");
    assert_eq!(expr("zeros([BM, BN], f32)"), "zeros([BM, BN], Scalar(F32))");
    assert_eq!(expr("math::gelu(x)"), "math::gelu(x)");
    assert_eq!(expr("[]"), "[]");
    assert_eq!(expr("[1, 2,]"), "[1, 2]");
    assert_eq!(expr("f(x,)"), "f(x)");
    assert_eq!(expr("{ let a = 1; a + 1 }"), "{1 stmts; (a + 1)}");
    assert_eq!(
        expr("if c { 1 } else if d { 2 } else { 3 }"),
        "if c {1} else if d {2} else {3 stmts; }".replace("3 stmts; ", "0 stmts; 3")
    );
    assert_eq!(
        expr("if c { a } else { b } + 1"),
        "(if c {a} else {0 stmts; b} + 1)"
    );
    assert_eq!(expr("sum(x, axis: 0) / n"), "(sum(x, axis: 0) / n)");
    assert_eq!(expr("\"a\\\"b\\\\c\\n\""), format!("{:?}", "a\"b\\c\n"));
}

#[test]
fn literal_values() {
    assert_eq!(expr("0x1F"), "31");
    assert_eq!(expr("1_000"), "1000");
    assert_eq!(expr("0b1010"), "10");
    assert_eq!(expr("42"), "42");
    assert_eq!(expr("1e-5"), "1e-5");
    assert_eq!(expr("2.5E3"), "2500.0");
    assert_eq!(expr("1.0"), "1.0");
    assert_eq!(expr("1_0.2_5"), "10.25");
    assert_eq!(expr("true"), "true");
    assert_eq!(
        expr("340282366920938463463374607431768211455"),
        u128::MAX.to_string()
    );
    assert_eq!(expr("nan"), "NaN");
}

#[test]
fn statements() {
    let file = parse_ok(
        "fn f() {
            let mut acc: f32[BM, BN] = zeros([BM, BN], f32);
            acc += 1.0; acc -= 1; acc *= 2; acc /= 2; acc %= 3;
            m &= a; m |= b; m ^= c; s <<= 1; s >>= 1; x = y;
            for i in range(0, n) { continue; }
            for i in static_range(0, 4, 2) { break; }
            while i < n { i += 1; }
            if a { return; } else { return 1; }
            { let inner = 1; }
            if c { x }
        }",
    );
    let ItemKind::Fn(f) = &file.items[0].kind else {
        panic!()
    };
    let stmts = &f.body.stmts;
    match &stmts[0].kind {
        StmtKind::Let {
            mutable: true,
            name,
            ty: Some(ty),
            value,
        } => {
            assert_eq!(name.name, "acc");
            match &ty.kind {
                TyKind::Block { elem, dims } => {
                    assert_eq!(*elem, ScalarType::F32);
                    assert_eq!(dims.iter().map(show).collect::<Vec<_>>(), ["BM", "BN"]);
                }
                other => panic!("{other:?}"),
            }
            assert_eq!(show(value), "zeros([BM, BN], Scalar(F32))");
        }
        other => panic!("{other:?}"),
    }
    let ops: Vec<AssignOp> = stmts[1..12]
        .iter()
        .map(|s| match &s.kind {
            StmtKind::Assign { op, .. } => *op,
            other => panic!("{other:?}"),
        })
        .collect();
    use AssignOp::*;
    assert_eq!(
        ops,
        [Add, Sub, Mul, Div, Rem, And, Or, Xor, Shl, Shr, Assign]
    );
    match &stmts[12].kind {
        StmtKind::For {
            var,
            kind: LoopKind::Range,
            args,
            body,
        } => {
            assert_eq!(var.name, "i");
            assert_eq!(args.len(), 2);
            assert_eq!(body.stmts[0].kind, StmtKind::Continue);
        }
        other => panic!("{other:?}"),
    }
    match &stmts[13].kind {
        StmtKind::For {
            kind: LoopKind::StaticRange,
            args,
            body,
            ..
        } => {
            assert_eq!(args.len(), 3);
            assert_eq!(body.stmts[0].kind, StmtKind::Break);
        }
        other => panic!("{other:?}"),
    }
    assert!(matches!(&stmts[14].kind, StmtKind::While { cond, .. } if show(cond) == "(i < n)"));
    match &stmts[15].kind {
        StmtKind::Expr(Expr {
            kind:
                ExprKind::If {
                    then_block,
                    else_branch: Some(e),
                    ..
                },
            ..
        }) => {
            assert_eq!(then_block.stmts[0].kind, StmtKind::Return(None));
            match &e.kind {
                ExprKind::Block(b) => {
                    assert!(matches!(&b.stmts[0].kind, StmtKind::Return(Some(v)) if show(v) == "1"))
                }
                other => panic!("{other:?}"),
            }
        }
        other => panic!("{other:?}"),
    }
    assert!(matches!(
        &stmts[16].kind,
        StmtKind::Expr(Expr {
            kind: ExprKind::Block(_),
            ..
        })
    ));
    // The last block-like expression without `;` is the tail.
    assert_eq!(stmts.len(), 17);
    assert_eq!(show(f.body.tail.as_ref().unwrap()), "if c {x}");
}

#[test]
fn final_jump_needs_no_semicolon() {
    let file = parse_ok("fn f(x) { while x { if x { break } continue } return x }");
    let ItemKind::Fn(f) = &file.items[0].kind else {
        panic!()
    };
    assert!(f.body.tail.is_none());
    match &f.body.stmts[..] {
        [Stmt {
            kind: StmtKind::While { body, .. },
            ..
        }, Stmt {
            kind: StmtKind::Return(Some(x)),
            span,
        }] => {
            assert_eq!(show(x), "x");
            assert_eq!(span.len(), "return x".len());
            assert_eq!(body.stmts.len(), 2);
            assert_eq!(body.stmts[1].kind, StmtKind::Continue);
            match &body.stmts[0].kind {
                StmtKind::Expr(Expr {
                    kind: ExprKind::If { then_block, .. },
                    ..
                }) => assert_eq!(then_block.stmts[0].kind, StmtKind::Break),
                other => panic!("{other:?}"),
            }
        }
        other => panic!("{other:?}"),
    }
    // Elsewhere the `;` is required.
    assert_eq!(codes("fn f() { break continue; }"), ["E0110"]);
}

#[test]
fn block_like_statements_end_without_semicolon() {
    // `if … {}` followed by `-x` is two statements (Rust's rule), not a subtraction.
    let file = parse_ok("fn f() { if c { a(); } -x }");
    let ItemKind::Fn(f) = &file.items[0].kind else {
        panic!()
    };
    assert_eq!(f.body.stmts.len(), 1);
    assert_eq!(show(f.body.tail.as_ref().unwrap()), "(-x)");
    // With `;` a trailing block-like expression is a statement, not the tail.
    let file = parse_ok("fn f() { if c { 1 } else { 2 }; }");
    let ItemKind::Fn(f) = &file.items[0].kind else {
        panic!()
    };
    assert_eq!(f.body.stmts.len(), 1);
    assert!(f.body.tail.is_none());
}

#[test]
fn comments_and_docs() {
    let file = parse_ok(
        "/* a /* nested */ comment */\n//// not a doc\n/// first\n///second\n// plain\nfn f() {}\n/// for g\nfn g() { /// inside a body: a plain comment\n }",
    );
    assert_eq!(file.items[0].docs, ["first", "second"]);
    assert_eq!(file.items[1].docs, ["for g"]);
    // Docs between attributes belong to the item too.
    let file =
        parse_ok("/// one\n#[grid(1)]\n/// two\nkernel k() {}\n/// three\nconst A: i32 = 1;");
    assert_eq!(file.items[0].docs, ["one", "two"]);
    assert_eq!(file.items[1].docs, ["three"]);
}

#[test]
fn byte_order_mark_is_skipped() {
    let text = "\u{feff}const A: i32 = 1;";
    let file = parse_ok(text);
    let ItemKind::Const(c) = &file.items[0].kind else {
        panic!()
    };
    assert_eq!(
        &text[c.name.span.start as usize..c.name.span.end as usize],
        "A"
    );
}

#[test]
fn spans_carry_the_file_id() {
    let (file, _) = parse("const A: i32 = 1;", FileId(3));
    let ItemKind::Const(c) = &file.items[0].kind else {
        panic!()
    };
    assert_eq!(c.value.span.file, FileId(3));
    assert_eq!((c.value.span.start, c.value.span.end), (15, 16));
}

/// Every `tests/ui/E01*.tk` produces the diagnostic its name starts with. (The full ui harness
/// runs through `sema::check`; this checks the syntax stage alone.)
#[test]
fn ui_inputs_produce_their_codes() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/ui");
    let mut cases: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| {
            let name = p.file_name().unwrap().to_string_lossy();
            name.starts_with("E01") && name.ends_with(".tk")
        })
        .collect();
    cases.sort();
    assert!(cases.len() >= 15, "found only {} cases", cases.len());
    let mut failures = Vec::new();
    for case in &cases {
        let text = std::fs::read_to_string(case).unwrap();
        let stem = case.file_stem().unwrap().to_string_lossy().to_string();
        let code = stem.split('_').next().unwrap();
        let (_, diags) = parse(&text, FileId(0));
        let rendered = render(&text, &diags);
        if std::env::var_os("TK_SHOW").is_some() {
            println!("===== {stem}\n{rendered}");
        }
        if !diags.iter().any(|d| d.code == code) {
            failures.push(format!("{stem}: expected {code}, got:\n{rendered}"));
        }
        // Each demonstrates one mistake: exactly one diagnostic.
        if diags.items.len() != 1 {
            failures.push(format!("{stem}: expected one diagnostic, got:\n{rendered}"));
        }
        for d in diags.iter() {
            if d.help.is_none() || d.labels.is_empty() {
                failures.push(format!("{stem}: {} lacks a label or help", d.code));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

fn kernel_names(file: &File) -> Vec<String> {
    file.items
        .iter()
        .filter_map(|i| match &i.kind {
            ItemKind::Kernel(k) => Some(k.name.name.clone()),
            ItemKind::Fn(f) => Some(f.name.name.clone()),
            _ => None,
        })
        .collect()
}

#[test]
fn two_broken_statements_give_two_diagnostics() {
    let text = "kernel first(x: *f32) {
    let a = 1 +;
    let ok = 2;
    let b = (3 * ;
    store(x, a);
}

kernel second(x: *mut f32) {
    store(x, 1.0);
}
";
    let (file, diags) = parse(text, FileId(0));
    let found: Vec<&str> = diags.iter().map(|d| d.code).collect();
    assert_eq!(found, ["E0110", "E0110"], "{}", render(text, &diags));
    assert_eq!(kernel_names(&file), ["first", "second"]);
    let ItemKind::Kernel(first) = &file.items[0].kind else {
        panic!()
    };
    // Broken `let`s still declare their names, with error values.
    let lets: Vec<Option<(String, bool)>> = first
        .body
        .stmts
        .iter()
        .map(|s| match &s.kind {
            StmtKind::Let { name, value, .. } => {
                Some((name.name.clone(), value.kind == ExprKind::Error))
            }
            _ => None,
        })
        .collect();
    assert_eq!(
        lets,
        [
            Some(("a".to_string(), true)),
            Some(("ok".to_string(), false)),
            Some(("b".to_string(), true)),
            None
        ]
    );
    // The error statement covers the broken statement.
    let span = first.body.stmts[0].span;
    assert_eq!(
        &text[span.start as usize..span.end as usize],
        "let a = 1 +;"
    );
    let ItemKind::Kernel(second) = &file.items[1].kind else {
        panic!()
    };
    assert_eq!(second.body.stmts.len(), 1);
}

#[test]
fn broken_item_is_skipped_and_the_next_item_parses() {
    let text = "kernel bad(x: *f32 { let a = 1; }\nfn good(x) { x }\nkernel k(x: *f32) {}\n";
    let (file, diags) = parse(text, FileId(0));
    assert_eq!(codes(text), ["E0110"], "{}", render(text, &diags));
    assert_eq!(file.items[0].kind, ItemKind::Error);
    assert_eq!(kernel_names(&file), ["good", "k"]);
}

#[test]
fn missing_semicolon_is_one_error() {
    let text = "fn f() {\n    let a = 1\n    let b = 2;\n    b\n}\n";
    let (file, diags) = parse(text, FileId(0));
    assert_eq!(codes(text), ["E0110"]);
    let d = &diags.items[0];
    assert_eq!(d.message, "expected `;` or operator, found `let`");
    assert_eq!(
        d.primary_span().unwrap().start as usize,
        text.find("let b").unwrap()
    );
    let ItemKind::Fn(f) = &file.items[0].kind else {
        panic!()
    };
    // The broken `let a` still declares `a`; `let b = 2;` survives the recovery.
    assert!(matches!(&f.body.stmts[0].kind, StmtKind::Let { name, .. } if name.name == "a"));
    assert!(f
        .body
        .stmts
        .iter()
        .any(|s| matches!(&s.kind, StmtKind::Let { name, .. } if name.name == "b")));
}

#[test]
fn unclosed_kernel_keeps_its_statements() {
    let text = "fn g() {}\nkernel k(x: *f32) {\n    let a = 1;\n    store(x, a);\n";
    let (file, diags) = parse(text, FileId(0));
    assert_eq!(codes(text), ["E0111"], "{}", render(text, &diags));
    assert_eq!(kernel_names(&file), ["g", "k"]);
    let ItemKind::Kernel(k) = &file.items[1].kind else {
        panic!()
    };
    assert_eq!(k.body.stmts.len(), 2);
    // A file cut in the middle of an item keeps the items before it.
    let text = "fn g() {}\nkernel k(x: *f32";
    let (file, _) = parse(text, FileId(0));
    assert_eq!(codes(text), ["E0111"]);
    assert_eq!(kernel_names(&file)[0], "g");
}

#[test]
fn syntax_errors_have_readable_messages() {
    let message = |text: &str| {
        let (_, diags) = parse(text, FileId(0));
        diags.items[0].message.clone()
    };
    assert_eq!(
        message("fn f() { let = 1; }"),
        "expected identifier or `mut`, found `=`"
    );
    assert_eq!(
        message("fn f() { x[1:2]; }"),
        "expected one of `]`, `,` or operator, found `:`"
    );
    assert_eq!(message("kernel k(x) {}"), "expected `:`, found `)`");
    assert_eq!(message("fn f() { let a = 1 }"), "expected `;`, found `}`");
    assert_eq!(
        message("fn f() { a = ; }"),
        "expected expression, found `;`"
    );
    assert_eq!(
        message("let a = 1;"),
        "expected one of `kernel`, `fn`, `const`, `use` or `#[`, found `let`"
    );
}

#[test]
fn syntax_diagnostic_codes() {
    assert_eq!(codes("fn f() { a < b < c }"), ["E0112"]);
    assert_eq!(codes("fn f() { a == b != c }"), ["E0112"]);
    assert_eq!(codes("fn f() { (a < b) == c }"), Vec::<&str>::new());
    assert_eq!(codes("fn f() { f(a: 1, 2) }"), ["E0113"]);
    assert_eq!(codes("fn f() { f(1, a: 2, b: 3) }"), Vec::<&str>::new());
    assert_eq!(codes("fn f() { f(None) }"), ["E0114"]);
    assert_eq!(codes("fn f() { x[None, :] }"), Vec::<&str>::new());
    assert_eq!(codes("fn f() { .5 }"), ["E0115"]);
    assert_eq!(codes("fn f() { 1. }"), ["E0103"]);
    assert_eq!(codes("fn f() { 0b102 }"), ["E0103"]);
    assert_eq!(codes("fn f() { 0x }"), ["E0103"]);
    assert_eq!(codes("fn f() { \"a\\q\" }"), ["E0104"]);
    assert_eq!(codes("fn f() { for i in range(0) {} }"), ["E0117"]);
    assert_eq!(codes("fn f() { for i in range(0, 1, 2, 3) {} }"), ["E0117"]);
    assert_eq!(codes("fn f() { for i in iter(0, 1) {} }"), ["E0116"]);
    assert_eq!(codes("fn f() { x[i] }"), ["E0119"]);
    assert_eq!(codes("fn f() { a @ b; }"), ["E0101"]);
    assert_eq!(codes("fn f() { a; } @@@ fn g() {}"), ["E0101"]);
    // Two independent lexical mistakes are two diagnostics.
    assert_eq!(
        codes("fn f() { let a = .5; let b = 0x; }"),
        ["E0115", "E0103"]
    );
}

#[test]
fn deep_nesting_is_cut_off_with_a_diagnostic() {
    let deep_parens = format!("fn f() {{ {}1{} }}", "(".repeat(5000), ")".repeat(5000));
    assert_eq!(codes(&deep_parens), ["E0118"]);
    let long_sum = format!("fn f() {{ {}1 }}", "a + ".repeat(5000));
    assert_eq!(codes(&long_sum), ["E0118"]);
    let negations = format!("fn f() {{ {}x }}", "-".repeat(50_000));
    assert_eq!(codes(&negations), ["E0118"]);
    let else_ifs = format!("fn f() {{ if a {{}} {} }}", "else if a {} ".repeat(2000));
    assert_eq!(codes(&else_ifs), ["E0118"]);
    let loops = format!(
        "fn f() {{ {} }}",
        "while a { ".repeat(200) + &"} ".repeat(200)
    );
    assert_eq!(codes(&loops), ["E0118"]);
    let shallow = format!("fn f() {{ {}1 }}", "a + ".repeat(100));
    assert_eq!(codes(&shallow), Vec::<&str>::new());
}

#[test]
fn no_panic_on_hostile_inputs() {
    let mut inputs: Vec<String> = vec![
        String::new(),
        " \n\t ".into(),
        "\"".into(),
        "/*".into(),
        "/* /* */".into(),
        "///".into(),
        "/// doc at the end".into(),
        "#[".into(),
        "#[grid(".into(),
        "#[a(k = [[[[{x = }]]]])] kernel".into(),
        "kernel".into(),
        "kernel k(".into(),
        "fn f() { let".into(),
        "fn f() { if }".into(),
        "fn f() { else {} }".into(),
        "}}}}))))]]]]".into(),
        "fn f() { x[ }".into(),
        "fn f() { x as }".into(),
        "use \"unterminated".into(),
        "\u{0}\u{1}\u{7f}\u{feff}é漢字🦀".into(),
        "0x".into(),
        "99999999999999999999999999999999999999999999999999999999".into(),
        "1e999999".into(),
        ".".into(),
        "..5".into(),
        "fn f() { a < b < c < d < e }".into(),
        "fn f() { None[None] }".into(),
        "fn f() { f(a: None, None) }".into(),
        "{".repeat(100_000),
        "#[a(k = ".to_string() + &"[".repeat(100_000),
        format!("fn f() {{ {} }}", "x[:]".repeat(20_000)),
        format!("fn f() {{ x{} }}", " as f32".repeat(20_000)),
        format!("fn f() {{ {} }}", "{ ".repeat(300) + &"} ".repeat(300)),
        format!("fn f() {{ {}1 }}", "-(".repeat(3000)),
    ];
    // Every prefix and every one-token deletion of a real kernel.
    for end in 0..=VECTOR_ADD.len() {
        if VECTOR_ADD.is_char_boundary(end) {
            inputs.push(VECTOR_ADD[..end].to_string());
        }
    }
    let lexed = super::lexer::lex(VECTOR_ADD, FileId(0));
    for (l, _, r) in &lexed.tokens {
        inputs.push(format!("{}{}", &VECTOR_ADD[..*l], &VECTOR_ADD[*r..]));
    }
    // Pseudo-random token soup.
    let pieces = [
        "kernel", "fn", "(", ")", "{", "}", "[", "]", "x", ":", "*f32", ",", ";", "let", "=", "if",
        "else", "1", "+", "<", "None", "#[", "for", "in", "range", "\"s\"", "/*", "*/", "as",
    ];
    let mut state: u64 = 0x9E3779B97F4A7C15;
    for _ in 0..300 {
        let mut text = String::new();
        for _ in 0..40 {
            state = state
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            text.push_str(pieces[(state >> 33) as usize % pieces.len()]);
            text.push(' ');
        }
        inputs.push(text);
    }
    for input in &inputs {
        let (_, diags) = parse(input, FileId(0));
        for d in diags.iter() {
            assert!(d.code.starts_with("E01"), "{input:?}: {d:?}");
            assert!(!d.labels.is_empty() && d.help.is_some(), "{input:?}: {d:?}");
            let span = d.primary_span().unwrap();
            assert!(span.start <= span.end && span.end as usize <= input.len());
        }
        // Rendering must not panic either.
        let _ = render(input, &diags);
    }
}

#[test]
fn realistic_kernels_parse() {
    let text = r#"
use math;
/// Softmax over rows.
#[grid(n_rows)]
#[threads(128)]
kernel softmax(x: *f32, out: *mut f32, n_rows: i32, n_cols: i32, stride: i32, const BLOCK: i32 = 1024,) {
    let row = program_id(0);
    let cols = arange(0, BLOCK);
    let mask = cols < n_cols;
    let v = load(x + row * stride + cols, mask: mask, other: -inf);
    let m = max(v, axis: 0);
    let e = exp(v - m);
    let s = sum(e, axis: 0, keep_dims: false);
    store(out + row * stride + cols, e / s, mask: mask);
}

#[grid(cdiv(M, BM), cdiv(N, BN))]
#[autotune(key = [M, N, K], configs = [{BM = 64, BN = 64, threads = 128}])]
kernel matmul(a: *f16, b: *f16, c: *mut f32, M: i32, N: i32, K: i32,
              const BM: i32 = 64, const BN: i32 = 64, const BK: i32 = 32) {
    let pid_m = program_id(0);
    let pid_n = program_id(1);
    let rm = pid_m * BM + arange(0, BM);
    let rn = pid_n * BN + arange(0, BN);
    let rk = arange(0, BK);
    let mut acc: f32[BM, BN] = zeros([BM, BN], f32);
    for k in range(0, K, BK) {
        let a_tile = load(a + rm[:, None] * K + (k + rk)[None, :],
                          mask: (rm[:, None] < M) & ((k + rk)[None, :] < K), other: 0.0);
        let b_tile = load(b + (k + rk)[:, None] * N + rn[None, :]);
        acc = dot(a_tile, b_tile, acc: acc);
    }
    if pid_m == 0 && pid_n == 0 {
        print("acc", acc);
        device_assert(K > 0, "K must be positive");
    } else if K % 2 != 0 {
        static_assert(BK % 2 == 0, "even");
    }
    let x = if K > 0 { 1 } else { 2 } as f32;
    let i = 0;
    while i < 10 { if i == 5 { break; } continue; }
    store(c + rm[:, None] * N + rn[None, :], acc, mask: (rm[:, None] < M) & (rn[None, :] < N));
    return;
}
fn relu(x) { where(x > 0.0, x, 0.0) }
fn f(const N: i32, x: f32[4]) -> f32[4] { return x * N as f32; }
fn g(x) { let y = x; y }
fn h(p: *f32) { atomic_add(p, 1.0, mask: true); ~1 + !true as i32 }
const ONE: i32 = 0x1 << 0b1;
"#;
    let file = parse_ok(text);
    assert_eq!(file.items.len(), 8);
    assert_eq!(file.items[1].docs, ["Softmax over rows."]);
}
