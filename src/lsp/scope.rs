//! Name resolution for the editor: one walk over a checked file records every definition
//! (items, params, `let`s, loop variables) with the range where it is visible, and every
//! reference with what it refers to. Hover, go to definition and completion read this index.
use crate::base::Span;
use crate::sema::{builtins, Checked, ItemRef};
use crate::syntax::ast;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LocalKind {
    /// A runtime kernel parameter or a fn parameter.
    Param,
    /// `const NAME: T` parameter of a kernel or fn.
    ConstParam,
    Let {
        mutable: bool,
    },
    LoopVar,
}

/// A local name: a parameter, a `let` or a loop variable.
#[derive(Debug, Clone)]
pub struct Local {
    pub name: String,
    /// The span of the name where it is defined.
    pub span: Span,
    pub kind: LocalKind,
    /// The bytes where the name is visible.
    pub visible: (u32, u32),
    /// The item (fn or kernel) it belongs to, by index in the file's items.
    pub item: usize,
    /// The bound value of a `let`, for hovers.
    pub value: Option<Span>,
    /// The declared type, as written.
    pub ty: Option<Span>,
}

/// What a name refers to.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Target {
    Local(usize),
    /// An item of a file of the compilation (`file` indexes `Checked::files`).
    Item {
        file: u32,
        index: usize,
    },
    Builtin(&'static builtins::Builtin),
    /// A `use`d module (`file` indexes `Checked::files`).
    Module {
        file: u32,
    },
}

#[derive(Debug, Clone)]
pub struct Reference {
    pub span: Span,
    pub name: String,
    pub target: Target,
}

/// Every local and every resolved reference of the main file.
#[derive(Debug, Clone, Default)]
pub struct Index {
    pub locals: Vec<Local>,
    pub references: Vec<Reference>,
}

impl Index {
    /// The reference or definition under byte `offset`.
    /// `after_name` also accepts a cursor right after a name (`offs|`, where a text cursor
    /// stands after typing), when it is not on another name; a mouse hover is always on a
    /// character, so hovers pass `false`.
    pub fn target_at(&self, offset: u32, after_name: bool) -> Option<(Span, Target)> {
        self.target_where(|s| s.start <= offset && offset < s.end)
            .or_else(|| {
                after_name
                    .then(|| self.target_where(|s| s.start <= offset && offset <= s.end))
                    .flatten()
            })
    }

    fn target_where(&self, inside: impl Fn(Span) -> bool) -> Option<(Span, Target)> {
        if let Some(r) = self.references.iter().find(|r| inside(r.span)) {
            return Some((r.span, r.target));
        }
        self.locals
            .iter()
            .position(|l| inside(l.span))
            .map(|i| (self.locals[i].span, Target::Local(i)))
    }

    /// The locals visible at `offset`, innermost last.
    pub fn visible_at(&self, offset: u32) -> Vec<&Local> {
        self.locals
            .iter()
            .filter(|l| l.visible.0 <= offset && offset <= l.visible.1)
            .collect()
    }
}

/// Builds the index of the main file of `checked`.
pub fn index(checked: &Checked) -> Index {
    let mut walk = Walk {
        checked,
        file: checked.main,
        index: Index::default(),
        scopes: Vec::new(),
        item: 0,
    };
    let Some(file) = checked.files.get(checked.main as usize) else {
        return walk.index;
    };
    for (i, item) in file.items.iter().enumerate() {
        walk.item = i;
        walk.item_(item);
    }
    walk.index
}

struct Walk<'c> {
    checked: &'c Checked,
    file: u32,
    index: Index,
    /// Open scopes, each a list of indices into `index.locals`.
    scopes: Vec<Vec<usize>>,
    item: usize,
}

impl Walk<'_> {
    fn define(&mut self, name: &ast::Ident, kind: LocalKind, visible: (u32, u32)) -> usize {
        let id = self.index.locals.len();
        self.index.locals.push(Local {
            name: name.name.clone(),
            span: name.span,
            kind,
            visible,
            item: self.item,
            value: None,
            ty: None,
        });
        if let Some(scope) = self.scopes.last_mut() {
            scope.push(id);
        }
        id
    }

    fn lookup_local(&self, name: &str) -> Option<usize> {
        self.scopes
            .iter()
            .rev()
            .flat_map(|s| s.iter().rev())
            .copied()
            .find(|&id| self.index.locals[id].name == name)
    }

    fn lookup_item(&self, file: u32, name: &str) -> Option<Target> {
        let scope = self.checked.scopes.get(file as usize)?;
        let index = match scope.items.get(name)? {
            ItemRef::Fn(i) | ItemRef::Kernel(i) | ItemRef::Const(i) => *i,
        };
        Some(Target::Item { file, index })
    }

    fn reference(&mut self, ident: &ast::Ident, target: Option<Target>) {
        if let Some(target) = target {
            self.index.references.push(Reference {
                span: ident.span,
                name: ident.name.clone(),
                target,
            });
        }
    }

    /// Resolves `x`, `f` or `module::f`; `call` says a builtin is acceptable.
    fn path(&mut self, path: &[ast::Ident], call: bool) {
        match path {
            [name] => {
                let target = self
                    .lookup_local(&name.name)
                    .filter(|_| !call)
                    .map(Target::Local)
                    .or_else(|| self.lookup_item(self.file, &name.name))
                    .or_else(|| builtins::lookup(&name.name).map(Target::Builtin));
                self.reference(name, target);
            }
            [module, name] => {
                let file = self
                    .checked
                    .scopes
                    .get(self.file as usize)
                    .and_then(|s| s.modules.get(&module.name))
                    .copied();
                if let Some(file) = file {
                    self.reference(module, Some(Target::Module { file }));
                    let target = self.lookup_item(file, &name.name);
                    self.reference(name, target);
                }
            }
            _ => {}
        }
    }

    fn item_(&mut self, item: &ast::Item) {
        let end = item.span.end;
        match &item.kind {
            ast::ItemKind::Use(ast::UseItem::Module(name)) => {
                let file = self
                    .checked
                    .scopes
                    .get(self.file as usize)
                    .and_then(|s| s.modules.get(&name.name))
                    .copied();
                self.reference(name, file.map(|file| Target::Module { file }));
            }
            ast::ItemKind::Use(_) | ast::ItemKind::Error => {}
            ast::ItemKind::Const(c) => self.expr(&c.value),
            ast::ItemKind::Fn(f) => {
                self.scopes.push(Vec::new());
                let visible = (f.name.span.end, end);
                for p in &f.params {
                    match p {
                        ast::FnParam::Value { name, ty } => {
                            if let Some(ty) = ty {
                                self.ty(ty);
                            }
                            let id = self.define(name, LocalKind::Param, visible);
                            self.index.locals[id].ty = ty.as_ref().map(|t| t.span);
                        }
                        ast::FnParam::Const { name, ty } => {
                            let id = self.define(name, LocalKind::ConstParam, visible);
                            self.index.locals[id].ty = Some(ty.span);
                        }
                    }
                }
                if let Some(ret) = &f.ret {
                    self.ty(ret);
                }
                self.block(&f.body);
                self.scopes.pop();
            }
            ast::ItemKind::Kernel(k) => {
                self.scopes.push(Vec::new());
                let visible = (item.span.start, end);
                for p in &k.params {
                    match p {
                        ast::KernelParam::Value { name, ty } => {
                            self.ty(ty);
                            let id = self.define(name, LocalKind::Param, visible);
                            self.index.locals[id].ty = Some(ty.span);
                        }
                        ast::KernelParam::Const { name, ty, default } => {
                            if let Some(default) = default {
                                self.expr(default);
                            }
                            let id = self.define(name, LocalKind::ConstParam, visible);
                            self.index.locals[id].ty = Some(ty.span);
                        }
                    }
                }
                for attr in &item.attrs {
                    for arg in &attr.args {
                        match arg {
                            ast::AttrArg::Expr(e) => self.expr(e),
                            ast::AttrArg::Named { value, .. } => self.attr_val(value),
                        }
                    }
                }
                self.block(&k.body);
                self.scopes.pop();
            }
        }
    }

    fn attr_val(&mut self, value: &ast::AttrVal) {
        match value {
            ast::AttrVal::Expr(e) => self.expr(e),
            ast::AttrVal::List { items, .. } => items.iter().for_each(|v| self.attr_val(v)),
            // Record fields name consts of the kernel: `{BLOCK = 256}`.
            ast::AttrVal::Record { fields, .. } => {
                for (name, value) in fields {
                    let target = self.lookup_local(&name.name).map(Target::Local);
                    self.reference(name, target);
                    self.expr(value);
                }
            }
        }
    }

    fn ty(&mut self, ty: &ast::Ty) {
        if let ast::TyKind::Block { dims, .. } = &ty.kind {
            dims.iter().for_each(|d| self.expr(d));
        }
    }

    fn block(&mut self, block: &ast::Block) {
        self.scopes.push(Vec::new());
        for stmt in &block.stmts {
            self.stmt(stmt, block.span.end);
        }
        if let Some(tail) = &block.tail {
            self.expr(tail);
        }
        self.scopes.pop();
    }

    fn stmt(&mut self, stmt: &ast::Stmt, block_end: u32) {
        match &stmt.kind {
            ast::StmtKind::Let {
                mutable,
                name,
                ty,
                value,
            } => {
                if let Some(ty) = ty {
                    self.ty(ty);
                }
                self.expr(value);
                let kind = LocalKind::Let { mutable: *mutable };
                let id = self.define(name, kind, (stmt.span.end, block_end));
                self.index.locals[id].value = Some(value.span);
                self.index.locals[id].ty = ty.as_ref().map(|t| t.span);
            }
            ast::StmtKind::Assign { place, value, .. } => {
                self.expr(place);
                self.expr(value);
            }
            ast::StmtKind::For {
                var, args, body, ..
            } => {
                args.iter().for_each(|a| self.expr(a));
                self.scopes.push(Vec::new());
                self.define(var, LocalKind::LoopVar, (body.span.start, body.span.end));
                self.block(body);
                self.scopes.pop();
            }
            ast::StmtKind::While { cond, body } => {
                self.expr(cond);
                self.block(body);
            }
            ast::StmtKind::Return(Some(e)) | ast::StmtKind::Expr(e) => self.expr(e),
            ast::StmtKind::Return(None)
            | ast::StmtKind::Break
            | ast::StmtKind::Continue
            | ast::StmtKind::Error => {}
        }
    }

    fn expr(&mut self, expr: &ast::Expr) {
        match &expr.kind {
            ast::ExprKind::Path(path) => self.path(path, false),
            ast::ExprKind::Unary { operand, .. } => self.expr(operand),
            ast::ExprKind::Binary { lhs, rhs, .. } => {
                self.expr(lhs);
                self.expr(rhs);
            }
            ast::ExprKind::Call { callee, args } => {
                self.path(callee, true);
                for arg in args {
                    match &arg.value {
                        ast::ArgValue::Expr(e) => self.expr(e),
                        ast::ArgValue::Type(t) => self.ty(t),
                    }
                }
            }
            ast::ExprKind::Index { base, .. } => self.expr(base),
            ast::ExprKind::Cast { value, .. } => self.expr(value),
            ast::ExprKind::List(items) => items.iter().for_each(|e| self.expr(e)),
            ast::ExprKind::Block(b) => self.block(b),
            ast::ExprKind::If {
                cond,
                then_block,
                else_branch,
            } => {
                self.expr(cond);
                self.block(then_block);
                if let Some(e) = else_branch {
                    self.expr(e);
                }
            }
            ast::ExprKind::Int(_)
            | ast::ExprKind::Float(_)
            | ast::ExprKind::Bool(_)
            | ast::ExprKind::Str(_)
            | ast::ExprKind::Error => {}
        }
    }
}
