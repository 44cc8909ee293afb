//! Calls: resolving a callee to a fn, a builtin or a mistake, and inlining a fn at its call
//! (argument checks against declared types, recursion and depth limits).
use super::{Elab, FnReturn, Reach, Val, MAX_INLINE_DEPTH};
use crate::base::Span;
use crate::sema::diags;
use crate::sema::{builtins, suggest, ItemRef};
use crate::syntax::ast;

impl Elab<'_> {
    pub(super) fn call(&mut self, callee: &[ast::Ident], args: &[ast::Arg], span: Span) -> Val {
        let file = self.file();
        let (target_file, ident) = match callee.len() {
            1 => (file, &callee[0]),
            2 => match self.checked.scopes[file as usize]
                .modules
                .get(&callee[0].name)
            {
                Some(&f) => (f, &callee[1]),
                None => return self.unknown_module(&callee[0]),
            },
            _ => return self.error(diags::call_path_too_long(span)),
        };
        match self.checked.scopes[target_file as usize]
            .items
            .get(&ident.name)
            .copied()
        {
            Some(ItemRef::Fn(index)) => return self.inline_fn(target_file, index, args, span),
            Some(ItemRef::Kernel(_)) => {
                return self.error(diags::kernel_called(&ident.name, ident.span))
            }
            Some(ItemRef::Const(_)) => {
                return self.error(diags::const_called(&ident.name, ident.span))
            }
            None => {}
        }
        if callee.len() == 1 {
            if let Some(builtin) = builtins::lookup(&ident.name) {
                return self.builtin(builtin, args, span);
            }
        }
        if callee.len() == 1 && self.lookup_binding(&ident.name).is_some() {
            return self.error(diags::variable_called(&ident.name, ident.span));
        }
        let mut names: Vec<&str> = builtins::BUILTINS.iter().map(|b| b.name).collect();
        let scope = &self.checked.scopes[target_file as usize];
        names.extend(
            scope
                .items
                .iter()
                .filter(|(_, r)| matches!(r, ItemRef::Fn(_)))
                .map(|(n, _)| n.as_str()),
        );
        let similar = suggest(&ident.name, names.into_iter());
        self.error(diags::unknown_function(&ident.name, ident.span, similar))
    }

    pub(super) fn fn_signature(item: &ast::FnItem) -> String {
        let params: Vec<String> = item
            .params
            .iter()
            .map(|p| match p {
                ast::FnParam::Value { name, ty: None } => name.name.clone(),
                ast::FnParam::Value { name, ty: Some(_) } => format!("{}: …", name.name),
                ast::FnParam::Const { name, ty } => format!("const {}: {}", name.name, ty.ty),
            })
            .collect();
        format!("{}({})", item.name.name, params.join(", "))
    }

    pub(super) fn inline_fn(
        &mut self,
        file: u32,
        index: usize,
        args: &[ast::Arg],
        span: Span,
    ) -> Val {
        let checked = self.checked;
        let ast::ItemKind::Fn(item) = &checked.files[file as usize].items[index].kind else {
            return Val::Error;
        };
        if let Some(pos) = self
            .call_stack
            .iter()
            .position(|c| c.0 == file && c.1 == index)
        {
            let chain: Vec<String> = self.call_stack[pos..].iter().map(|c| c.2.clone()).collect();
            return self.error(diags::recursive_call(&item.name.name, span, &chain));
        }
        if !self.expand(1, span) {
            return Val::Error;
        }
        if self.call_stack.len() >= MAX_INLINE_DEPTH {
            return self.error(diags::calls_nest_too_deeply(span));
        }
        let signature = Self::fn_signature(item);
        let params: Vec<(&str, bool)> = item
            .params
            .iter()
            .map(|p| match p {
                ast::FnParam::Value { name, .. } | ast::FnParam::Const { name, .. } => {
                    (name.name.as_str(), true)
                }
            })
            .collect();
        let Some(slots) = self.bind_args(&params, args, &signature, span) else {
            return Val::Error;
        };
        let mut bound = Vec::new();
        let mut failed = false;
        for (p, slot) in item.params.iter().zip(&slots) {
            let (v, vspan) = self.arg_val(*slot);
            let v = match p {
                ast::FnParam::Value { ty: Some(ty), name } => self.check_annotation(
                    v,
                    vspan,
                    ty,
                    false,
                    diags::fn_argument_annotation,
                    &format!("argument `{}` of `{}`", name.name, item.name.name),
                ),
                ast::FnParam::Value { ty: None, .. } => v,
                ast::FnParam::Const { ty, .. } => {
                    match self.expect_known(&v, vspan, "a const argument") {
                        Some((Some(t), _)) if t == ty.ty => v.clone(),
                        Some((None, lit)) => match self.literal_as(lit, ty.ty, vspan) {
                            Some(lit) => Val::known(ty.ty, lit),
                            None => Val::Error,
                        },
                        Some(_) => {
                            let found = self.describe(&v);
                            self.error(diags::const_argument_type(ty.ty, &found, vspan, ty.span))
                        }
                        None => Val::Error,
                    }
                }
            };
            if matches!(v, Val::Error) {
                failed = true;
            }
            let name = match p {
                ast::FnParam::Value { name, .. } | ast::FnParam::Const { name, .. } => {
                    name.name.clone()
                }
            };
            bound.push((name, v));
        }
        if failed {
            return Val::Error;
        }
        self.call_stack
            .push((file, index, item.name.name.clone(), span));
        self.push_frame(file, false);
        let declared = item.ret.as_ref().and_then(|t| match &t.kind {
            ast::TyKind::Scalar(t) | ast::TyKind::Block { elem: t, .. } => Some(*t),
            ast::TyKind::Ptr { .. } => None,
        });
        let entry = self.b.mark();
        self.frame().ret = Some(FnReturn {
            entry,
            flag: None,
            slot: None,
            value: None,
            declared,
            provisional: None,
            first: None,
            reach: Reach::Live,
            runtime_depth: 0,
            in_condition: 0,
            count: 0,
            failed: false,
        });
        for (name, v) in bound {
            self.bind_value(&name, v);
        }
        self.block(&item.body, true);
        let ret = self.frame().ret.take();
        self.pop_frame();
        self.call_stack.pop();
        let mut v = match ret {
            Some(FnReturn { failed: true, .. }) => Val::Error,
            Some(FnReturn {
                slot: Some(slot), ..
            }) => Val::Rt(self.b.local_get(slot)),
            Some(FnReturn { value: Some(v), .. }) => v,
            _ => Val::Unit,
        };
        if let Some(ret) = &item.ret {
            let vspan = item.body.tail.as_ref().map_or(item.body.span, |t| t.span);
            v = self.check_annotation(
                v,
                vspan,
                ret,
                false,
                diags::fn_result_annotation,
                &format!("return value of `{}`", item.name.name),
            );
        }
        self.b.span = span;
        v
    }
}
