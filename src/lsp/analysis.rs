//! What the editor asks about one document, answered from one check of its text: diagnostics,
//! hovers, definitions, symbols, completions and signature help. Pure functions over an
//! `Analysis`, so they are tested without a client.
use super::line_index::LineIndex;
use super::scope::{self, Index, LocalKind, Target};
use crate::base::{FileId, Severity, Span};
use crate::driver::{self, Program};
use crate::ir;
use crate::sema::{builtins, FileLoader};
use crate::syntax::ast;
use lsp_types as lsp;

/// One checked version of a document.
pub struct Analysis {
    pub program: Program,
    pub index: Index,
    pub lines: LineIndex,
}

/// The keywords of the language, for completion (and the editor grammar's test).
pub const KEYWORDS: &[&str] = &[
    "kernel", "fn", "let", "mut", "const", "if", "else", "for", "in", "while", "return", "break",
    "continue", "use", "as", "true", "false",
];
/// Scalar type names.
pub const SCALAR_TYPES: &[&str] = &[
    "bool", "i8", "i16", "i32", "i64", "u8", "u16", "u32", "u64", "f16", "bf16", "f32", "f64",
];

impl Analysis {
    /// Checks `text`; `name` is its path, the base of relative `use`s.
    pub fn new(name: &str, text: &str, loader: &dyn FileLoader) -> Analysis {
        let program = driver::check_source(name, text, loader);
        let index = scope::index(&program.checked);
        Analysis {
            program,
            index,
            lines: LineIndex::new(text),
        }
    }

    pub fn text(&self) -> &str {
        &self.program.sources.file(FileId(0)).text
    }

    pub fn range(&self, span: Span) -> lsp::Range {
        self.lines
            .range(self.text(), span.start as usize, span.end as usize)
    }

    pub fn offset(&self, position: lsp::Position) -> u32 {
        self.lines.offset(self.text(), position) as u32
    }

    fn main_file(&self) -> Option<&ast::File> {
        self.program.checked.files.first()
    }

    /// The checker's diagnostics as LSP diagnostics. A problem inside a `use`d file is shown on
    /// the main file's first line, naming the file.
    pub fn diagnostics(&self) -> Vec<lsp::Diagnostic> {
        self.program
            .diagnostics
            .iter()
            .map(|d| {
                let primary = d.primary_span();
                let in_main = primary.is_some_and(|s| s.file == FileId(0));
                let range = match primary {
                    Some(span) if in_main => self.range(span),
                    _ => lsp::Range::default(),
                };
                let mut message = d.message.clone();
                if let (Some(span), false) = (primary, in_main) {
                    let file = self.program.sources.file(span.file);
                    let (line, col) = self.program.sources.line_col(span.file, span.start);
                    message = format!("{}:{line}:{col}: {message}", file.name);
                }
                if let Some(help) = &d.help {
                    message.push_str("\nhelp: ");
                    message.push_str(help);
                }
                for note in &d.notes {
                    message.push_str("\nnote: ");
                    message.push_str(note);
                }
                lsp::Diagnostic {
                    range,
                    severity: Some(match d.severity {
                        Severity::Error => lsp::DiagnosticSeverity::ERROR,
                        Severity::Warning => lsp::DiagnosticSeverity::WARNING,
                    }),
                    code: Some(lsp::NumberOrString::String(d.code.to_string())),
                    source: Some("tk".to_string()),
                    message,
                    ..lsp::Diagnostic::default()
                }
            })
            .collect()
    }

    /// Markdown for the thing under `offset`: a type, a builtin's docs, an item's signature and
    /// docs.
    pub fn hover(&self, offset: u32) -> Option<(Span, String)> {
        if let Some((span, target)) = self.index.target_at(offset, false) {
            return self.describe(target).map(|text| (span, text));
        }
        // Any other expression: its type, from the kernel lowered at its const defaults.
        let (item, kernel) = self.kernel_at(offset)?;
        let module = self.lower(kernel)?;
        let k = &module.kernel;
        let id = best_inst(k, |s| s.start <= offset && offset < s.end)?;
        let ty = k.insts[id].ty.as_ref()?;
        Some((
            k.span(id),
            format!("```tk\n{ty}\n```\n{}", self.specialisation(item, k)),
        ))
    }

    fn describe(&self, target: Target) -> Option<String> {
        let checked = &self.program.checked;
        match target {
            Target::Builtin(b) => Some(builtin_docs(b)),
            Target::Module { file } => {
                let name = &self.program.sources.file(FileId(file)).name;
                Some(format!(
                    "```tk\nuse {}\n```\nmodule `{name}`",
                    module_name(name)
                ))
            }
            Target::Item { file, index } => {
                let item = checked.files.get(file as usize)?.items.get(index)?;
                let text = &self.program.sources.file(FileId(file)).text;
                let mut out = format!("```tk\n{}\n```", item_signature(item, text));
                if !item.docs.is_empty() {
                    out.push_str("\n\n");
                    out.push_str(&item.docs.join("\n"));
                }
                Some(out)
            }
            Target::Local(id) => {
                let local = &self.index.locals[id];
                let text = self.text();
                let declared = local.ty.map(|s| snippet(text, s));
                let (keyword, ty) = match local.kind {
                    LocalKind::Param => ("", declared.map(str::to_string)),
                    LocalKind::ConstParam => ("const ", declared.map(str::to_string)),
                    LocalKind::Let { mutable } => {
                        let keyword = if mutable { "let mut " } else { "let " };
                        (keyword, self.local_type(id))
                    }
                    LocalKind::LoopVar => ("for ", self.local_type(id)),
                };
                let mut out = format!("```tk\n{keyword}{}", local.name);
                if let Some(ty) = &ty {
                    out.push_str(": ");
                    out.push_str(ty);
                }
                out.push_str("\n```");
                if let Some(note) = self.const_value(local) {
                    out.push_str(&format!("\n{note}"));
                } else if matches!(local.kind, LocalKind::Let { .. } | LocalKind::LoopVar) {
                    if let Some((item, kernel)) = self.kernel_of(local.item) {
                        if let Some(module) = self.lower(kernel) {
                            out.push('\n');
                            out.push_str(&self.specialisation(item, &module.kernel));
                        }
                    }
                }
                Some(out)
            }
        }
    }

    /// `= 1024` for a const param with a default.
    fn const_value(&self, local: &scope::Local) -> Option<String> {
        if local.kind != LocalKind::ConstParam {
            return None;
        }
        let item = self.main_file()?.items.get(local.item)?;
        let ast::ItemKind::Kernel(k) = &item.kind else {
            return None;
        };
        k.params.iter().find_map(|p| match p {
            ast::KernelParam::Const {
                name,
                default: Some(d),
                ..
            } if name.span == local.span => {
                Some(format!("default `{}`", snippet(self.text(), d.span)))
            }
            _ => None,
        })
    }

    /// The type of a `let` or loop variable, from its kernel lowered at its const defaults.
    fn local_type(&self, id: usize) -> Option<String> {
        let local = &self.index.locals[id];
        if let Some(value) = local.value {
            // `let y = x;` has no instruction of its own: follow `x`.
            if let Some(r) = self.index.references.iter().find(|r| r.span == value) {
                if let Target::Local(inner) = r.target {
                    if inner != id {
                        return self.local_type(inner);
                    }
                }
            }
        }
        let (_, kernel) = self.kernel_of(local.item)?;
        let module = self.lower(kernel)?;
        let k = &module.kernel;
        if !matches!(local.kind, LocalKind::Let { mutable: false }) {
            if let Some((_, l)) = k.locals.iter().find(|(_, l)| l.name == local.name) {
                return Some(l.ty.to_string());
            }
        }
        let value = local.value?;
        let id = best_inst(k, |s| s == value)
            .or_else(|| best_inst(k, |s| value.start <= s.start && s.end <= value.end))?;
        k.insts[id].ty.as_ref().map(|t| t.to_string())
    }

    /// The kernel item containing `offset`.
    fn kernel_at(&self, offset: u32) -> Option<(usize, &ast::KernelItem)> {
        let file = self.main_file()?;
        let index = file
            .items
            .iter()
            .position(|i| i.span.start <= offset && offset <= i.span.end)?;
        self.kernel_of(index)
    }

    fn kernel_of(&self, index: usize) -> Option<(usize, &ast::KernelItem)> {
        match &self.main_file()?.items.get(index)?.kind {
            ast::ItemKind::Kernel(k) => Some((index, k)),
            _ => None,
        }
    }

    fn lower(&self, kernel: &ast::KernelItem) -> Option<ir::Module> {
        crate::sema::lower(&self.program.checked, &kernel.name.name, &[]).0
    }

    fn specialisation(&self, _item: usize, kernel: &ir::Kernel) -> String {
        if kernel.consts.is_empty() {
            return format!("in kernel `{}`", kernel.name);
        }
        let consts: Vec<String> = kernel
            .consts
            .iter()
            .map(|(name, value)| format!("{name} = {}", literal_text(value)))
            .collect();
        format!("in kernel `{}` with {}", kernel.name, consts.join(", "))
    }

    /// Where the thing under `offset` is defined: a file of the compilation and a span in it.
    pub fn definition(&self, offset: u32) -> Option<(FileId, Span)> {
        let (_, target) = self.index.target_at(offset, true)?;
        match target {
            Target::Local(id) => Some((FileId(0), self.index.locals[id].span)),
            Target::Item { file, index } => {
                let item = self
                    .program
                    .checked
                    .files
                    .get(file as usize)?
                    .items
                    .get(index)?;
                Some((FileId(file), item_name(item)?.span))
            }
            Target::Module { file } => Some((FileId(file), Span::new(FileId(file), 0, 0))),
            Target::Builtin(_) => None,
        }
    }

    /// The items of the file, with the params of fns and kernels as children.
    #[allow(deprecated)] // `DocumentSymbol::deprecated` must still be written.
    pub fn symbols(&self) -> Vec<lsp::DocumentSymbol> {
        let Some(file) = self.main_file() else {
            return Vec::new();
        };
        let mut out = Vec::new();
        for (index, item) in file.items.iter().enumerate() {
            let Some(name) = item_name(item) else {
                continue;
            };
            let kind = match item.kind {
                ast::ItemKind::Fn(_) => lsp::SymbolKind::FUNCTION,
                ast::ItemKind::Kernel(_) => lsp::SymbolKind::FUNCTION,
                ast::ItemKind::Const(_) => lsp::SymbolKind::CONSTANT,
                _ => lsp::SymbolKind::MODULE,
            };
            let children: Vec<lsp::DocumentSymbol> = self
                .index
                .locals
                .iter()
                .filter(|l| l.item == index)
                .filter(|l| matches!(l.kind, LocalKind::Param | LocalKind::ConstParam))
                .map(|l| lsp::DocumentSymbol {
                    name: l.name.clone(),
                    detail: l.ty.map(|s| snippet(self.text(), s).to_string()),
                    kind: if l.kind == LocalKind::ConstParam {
                        lsp::SymbolKind::CONSTANT
                    } else {
                        lsp::SymbolKind::VARIABLE
                    },
                    tags: None,
                    deprecated: None,
                    range: self.range(l.span),
                    selection_range: self.range(l.span),
                    children: None,
                })
                .collect();
            out.push(lsp::DocumentSymbol {
                name: name.name.clone(),
                detail: Some(item_signature(item, self.text())),
                kind,
                tags: None,
                deprecated: None,
                range: self.range(item.span),
                selection_range: self.range(name.span),
                children: (!children.is_empty()).then_some(children),
            });
        }
        out
    }

    /// Completions at `offset`: after `module::` that module's fns; otherwise locals in scope,
    /// the file's items, builtins, `use`d modules, keywords and types.
    pub fn completion(&self, offset: u32) -> Vec<lsp::CompletionItem> {
        let text = self.text();
        let before = &text[..(offset as usize).min(text.len())];
        let word_start = before
            .rfind(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .map_or(0, |i| i + 1);
        let checked = &self.program.checked;
        let main_scope = checked.scopes.first();
        if let Some(module) = before[..word_start].strip_suffix("::") {
            let module_start = module
                .rfind(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                .map_or(0, |i| i + 1);
            let module = &module[module_start..];
            let Some(&file) = main_scope.and_then(|s| s.modules.get(module)) else {
                return Vec::new();
            };
            return self.item_completions(file);
        }
        let mut out = Vec::new();
        let mut seen = std::collections::HashSet::new();
        for local in self.index.visible_at(offset).into_iter().rev() {
            if seen.insert(local.name.clone()) {
                out.push(lsp::CompletionItem {
                    label: local.name.clone(),
                    kind: Some(match local.kind {
                        LocalKind::ConstParam => lsp::CompletionItemKind::CONSTANT,
                        _ => lsp::CompletionItemKind::VARIABLE,
                    }),
                    detail: local.ty.map(|s| snippet(text, s).to_string()),
                    ..Default::default()
                });
            }
        }
        out.extend(self.item_completions(checked.main));
        for b in builtins::BUILTINS {
            out.push(lsp::CompletionItem {
                label: b.name.to_string(),
                kind: Some(lsp::CompletionItemKind::FUNCTION),
                detail: Some(b.signature.to_string()),
                documentation: Some(lsp::Documentation::String(b.docs.to_string())),
                ..Default::default()
            });
        }
        if let Some(scope) = main_scope {
            for module in scope.modules.keys() {
                out.push(lsp::CompletionItem {
                    label: module.clone(),
                    kind: Some(lsp::CompletionItemKind::MODULE),
                    ..Default::default()
                });
            }
        }
        for word in KEYWORDS.iter().chain(SCALAR_TYPES) {
            out.push(lsp::CompletionItem {
                label: word.to_string(),
                kind: Some(lsp::CompletionItemKind::KEYWORD),
                ..Default::default()
            });
        }
        out
    }

    fn item_completions(&self, file: u32) -> Vec<lsp::CompletionItem> {
        let Some(ast) = self.program.checked.files.get(file as usize) else {
            return Vec::new();
        };
        let text = &self.program.sources.file(FileId(file)).text;
        ast.items
            .iter()
            .filter_map(|item| {
                let name = item_name(item)?;
                let kind = match item.kind {
                    ast::ItemKind::Fn(_) => lsp::CompletionItemKind::FUNCTION,
                    ast::ItemKind::Const(_) => lsp::CompletionItemKind::CONSTANT,
                    ast::ItemKind::Kernel(_) => lsp::CompletionItemKind::FUNCTION,
                    _ => return None,
                };
                Some(lsp::CompletionItem {
                    label: name.name.clone(),
                    kind: Some(kind),
                    detail: Some(item_signature(item, text)),
                    documentation: (!item.docs.is_empty())
                        .then(|| lsp::Documentation::String(item.docs.join("\n"))),
                    ..Default::default()
                })
            })
            .collect()
    }

    /// Signature help inside a call's parentheses: the callee is found by scanning back from
    /// the cursor over balanced brackets, so it works on half-written calls too.
    pub fn signature_help(&self, offset: u32) -> Option<lsp::SignatureHelp> {
        let text = self.text();
        let (callee, active) = enclosing_call(&text[..(offset as usize).min(text.len())])?;
        let (label, params, docs) = self.signature_of(&callee)?;
        let parameters = params
            .iter()
            .map(|p| lsp::ParameterInformation {
                label: lsp::ParameterLabel::Simple(p.clone()),
                documentation: None,
            })
            .collect();
        Some(lsp::SignatureHelp {
            signatures: vec![lsp::SignatureInformation {
                label,
                documentation: docs.map(lsp::Documentation::String),
                parameters: Some(parameters),
                active_parameter: Some(active),
            }],
            active_signature: Some(0),
            active_parameter: Some(active),
        })
    }

    /// The label, the parameter names and the docs of a callable by its (possibly qualified) name.
    fn signature_of(&self, callee: &str) -> Option<(String, Vec<String>, Option<String>)> {
        let checked = &self.program.checked;
        let (file, name) = match callee.split_once("::") {
            Some((module, name)) => (*checked.scopes.first()?.modules.get(module)?, name),
            None => (checked.main, callee),
        };
        let scope = checked.scopes.get(file as usize);
        let item = scope.and_then(|s| s.items.get(name)).and_then(|r| match r {
            crate::sema::ItemRef::Fn(i) | crate::sema::ItemRef::Kernel(i) => {
                checked.files[file as usize].items.get(*i)
            }
            crate::sema::ItemRef::Const(_) => None,
        });
        if let Some(item) = item {
            let text = &self.program.sources.file(FileId(file)).text;
            let params: Vec<String> = match &item.kind {
                ast::ItemKind::Fn(f) => f
                    .params
                    .iter()
                    .map(|p| match p {
                        ast::FnParam::Value { name, ty: Some(ty) } => {
                            format!("{}: {}", name.name, snippet(text, ty.span))
                        }
                        ast::FnParam::Value { name, ty: None } => name.name.clone(),
                        ast::FnParam::Const { name, ty } => {
                            format!("const {}: {}", name.name, snippet(text, ty.span))
                        }
                    })
                    .collect(),
                _ => Vec::new(),
            };
            let name = &item_name(item)?.name;
            let label = format!("{name}({})", params.join(", "));
            let docs = (!item.docs.is_empty()).then(|| item.docs.join("\n"));
            return Some((label, params, docs));
        }
        if file != checked.main {
            return None;
        }
        let b = builtins::lookup(name)?;
        let params = b
            .params
            .iter()
            .map(|p| {
                if p.required {
                    p.name.to_string()
                } else {
                    format!("{}:", p.name)
                }
            })
            .collect();
        Some((b.signature.to_string(), params, Some(b.docs.to_string())))
    }
}

/// The instruction whose span passes `pick` and is smallest; among equal spans the first made,
/// which is the expression's own value: broadcasts and conversions that a consumer applies to
/// it come later and carry the same span.
fn best_inst(k: &ir::Kernel, pick: impl Fn(Span) -> bool) -> Option<ir::InstId> {
    k.insts
        .iter()
        .filter(|(id, inst)| {
            let span = k.span(*id);
            inst.ty.is_some() && span.file == FileId(0) && !span.is_empty() && pick(span)
        })
        .min_by_key(|(id, _)| (k.span(*id).len(), id.index()))
        .map(|(id, _)| id)
}

/// Scans back from the end of `before` to the unclosed `(` of a call: its callee path and the
/// index of the argument the cursor is in.
pub fn enclosing_call(before: &str) -> Option<(String, u32)> {
    let bytes = before.as_bytes();
    let mut depth = 0i32;
    let mut commas = 0u32;
    let mut i = bytes.len();
    while i > 0 {
        i -= 1;
        match bytes[i] {
            b')' | b']' | b'}' => depth += 1,
            b'[' | b'{' if depth > 0 => depth -= 1,
            b'(' if depth > 0 => depth -= 1,
            b',' if depth == 0 => commas += 1,
            b';' | b'{' | b'[' if depth == 0 => return None,
            b'(' => {
                let head = before[..i].trim_end();
                let start = head
                    .rfind(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == ':'))
                    .map_or(0, |j| j + 1);
                let callee = &head[start..];
                if callee.is_empty() || callee.starts_with(|c: char| c.is_ascii_digit()) {
                    return None;
                }
                return Some((callee.to_string(), commas));
            }
            _ => {}
        }
    }
    None
}

pub fn builtin_docs(b: &builtins::Builtin) -> String {
    format!(
        "```tk\n{}\n```\n{}\n\nResult: {}",
        b.signature, b.docs, b.shape_rule
    )
}

fn snippet(text: &str, span: Span) -> &str {
    text.get(span.start as usize..span.end as usize)
        .unwrap_or("")
}

fn module_name(file_name: &str) -> &str {
    let base = file_name.rsplit('/').next().unwrap_or(file_name);
    base.strip_suffix(".tk").unwrap_or(base)
}

pub fn item_name(item: &ast::Item) -> Option<&ast::Ident> {
    match &item.kind {
        ast::ItemKind::Fn(f) => Some(&f.name),
        ast::ItemKind::Kernel(k) => Some(&k.name),
        ast::ItemKind::Const(c) => Some(&c.name),
        ast::ItemKind::Use(ast::UseItem::Module(name)) => Some(name),
        _ => None,
    }
}

/// `fn gelu(x)`, `kernel add(x: *f32, …)`, `const EPS: f32 = 1e-5`: the header as written, with
/// runs of whitespace collapsed.
pub fn item_signature(item: &ast::Item, text: &str) -> String {
    let (keyword, start, end) = match &item.kind {
        ast::ItemKind::Fn(f) => ("fn ", f.name.span.start, f.body.span.start),
        ast::ItemKind::Kernel(k) => ("kernel ", k.name.span.start, k.body.span.start),
        ast::ItemKind::Const(c) => ("const ", c.name.span.start, c.value.span.end),
        ast::ItemKind::Use(ast::UseItem::Module(name)) => ("use ", name.span.start, name.span.end),
        _ => return String::new(),
    };
    let header = text.get(start as usize..end as usize).unwrap_or("");
    let words: Vec<&str> = header.split_whitespace().collect();
    format!("{keyword}{}", words.join(" "))
        .replace("( ", "(")
        .replace(" )", ")")
        .replace(",)", ")")
}

fn literal_text(value: &crate::base::Literal) -> String {
    match value {
        crate::base::Literal::Int(v) => v.to_string(),
        crate::base::Literal::Float(v) => v.to_string(),
        crate::base::Literal::Bool(v) => v.to_string(),
    }
}
