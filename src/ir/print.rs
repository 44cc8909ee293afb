//! The stable text form of the IR (`tkc build --emit ir`), used by snapshot tests.
use super::Module;

pub fn print(module: &Module) -> String {
    format!("{:#?}", module.kernel)
}
