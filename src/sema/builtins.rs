//! THE table of builtins: one entry per builtin function with its name, docs, signature and shape
//! rule, read by the checker, the language server's hovers and the docs.
