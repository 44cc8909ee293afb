//! `tkc lsp`: the language server over stdio.
use super::*;

pub(crate) fn lsp() -> Result<()> {
    let (connection, io_threads) = lsp_server::Connection::stdio();
    let served = tk::lsp::serve(&connection);
    drop(connection);
    let joined = io_threads.join();
    served
        .map_err(|e| e.to_string())
        .and_then(|()| joined.map_err(|e| e.to_string()))
        .map_err(|message| Fail {
            code: 2,
            text: format!("error[E0960]: the language server stopped: {message}\n"),
        })
}
