//! The language server (`tkc lsp`): speaks LSP over an `lsp_server::Connection` (stdio in
//! `tkc`), synchronously, one request at a time. Each open document is re-checked in full on
//! open, change and save with the same checker as `tkc check`; hovers, definitions, symbols,
//! completion and signature help are answered from that one check (`analysis`), and formatting
//! by `syntax::format`.
//!
//! Hover types come from lowering the enclosing kernel at its const defaults (`sema::lower`)
//! and reading the IR's span side table, so the server never needs a second type checker.
pub mod analysis;
pub mod line_index;
pub mod scope;
#[cfg(test)]
mod tests;

use crate::base::FileId;
use crate::driver::DiskLoader;
use analysis::Analysis;
use lsp_server::{Connection, ErrorCode, Message, Notification, Request, Response};
use lsp_types as lsp;
use lsp_types::notification::Notification as _;
use std::collections::HashMap;
use std::str::FromStr;

type Error = Box<dyn std::error::Error + Send + Sync>;

/// What the server offers, as sent in the `initialize` response.
pub fn capabilities() -> lsp::ServerCapabilities {
    lsp::ServerCapabilities {
        text_document_sync: Some(lsp::TextDocumentSyncCapability::Options(
            lsp::TextDocumentSyncOptions {
                open_close: Some(true),
                change: Some(lsp::TextDocumentSyncKind::FULL),
                save: Some(lsp::TextDocumentSyncSaveOptions::Supported(true)),
                ..Default::default()
            },
        )),
        hover_provider: Some(lsp::HoverProviderCapability::Simple(true)),
        definition_provider: Some(lsp::OneOf::Left(true)),
        document_symbol_provider: Some(lsp::OneOf::Left(true)),
        completion_provider: Some(lsp::CompletionOptions {
            trigger_characters: Some(vec![":".to_string()]),
            ..Default::default()
        }),
        signature_help_provider: Some(lsp::SignatureHelpOptions {
            trigger_characters: Some(vec!["(".to_string(), ",".to_string()]),
            ..Default::default()
        }),
        document_formatting_provider: Some(lsp::OneOf::Left(true)),
        ..Default::default()
    }
}

/// Runs the server until the client says `shutdown` and `exit`.
pub fn serve(connection: &Connection) -> Result<(), Error> {
    let capabilities = serde_json::to_value(capabilities())?;
    connection.initialize(capabilities)?;
    let mut server = Server {
        documents: HashMap::new(),
    };
    for message in &connection.receiver {
        match message {
            Message::Request(request) => {
                if connection.handle_shutdown(&request)? {
                    return Ok(());
                }
                let response = server.request(request);
                connection.sender.send(Message::Response(response))?;
            }
            Message::Notification(notification) => {
                if let Some(publish) = server.notification(notification) {
                    connection.sender.send(Message::Notification(publish))?;
                }
            }
            Message::Response(_) => {}
        }
    }
    Ok(())
}

struct Server {
    documents: HashMap<String, Analysis>,
}

impl Server {
    fn notification(&mut self, notification: Notification) -> Option<Notification> {
        use lsp::notification::*;
        let (uri, text) = match notification.method.as_str() {
            DidOpenTextDocument::METHOD => {
                let params =
                    serde_json::from_value::<lsp::DidOpenTextDocumentParams>(notification.params)
                        .ok()?;
                (params.text_document.uri, params.text_document.text)
            }
            DidChangeTextDocument::METHOD => {
                let params =
                    serde_json::from_value::<lsp::DidChangeTextDocumentParams>(notification.params)
                        .ok()?;
                // Full sync: the last change holds the whole text.
                let text = params.content_changes.into_iter().last()?.text;
                (params.text_document.uri, text)
            }
            DidSaveTextDocument::METHOD => {
                let params =
                    serde_json::from_value::<lsp::DidSaveTextDocumentParams>(notification.params)
                        .ok()?;
                let text = match params.text {
                    Some(text) => text,
                    None => self
                        .documents
                        .get(params.text_document.uri.as_str())?
                        .text()
                        .to_string(),
                };
                (params.text_document.uri, text)
            }
            DidCloseTextDocument::METHOD => {
                let params =
                    serde_json::from_value::<lsp::DidCloseTextDocumentParams>(notification.params)
                        .ok()?;
                self.documents.remove(params.text_document.uri.as_str());
                return publish(params.text_document.uri, Vec::new());
            }
            _ => return None,
        };
        let analysis = Analysis::new(&uri_to_path(&uri), &text, &DiskLoader);
        let diagnostics = analysis.diagnostics();
        self.documents.insert(uri.as_str().to_string(), analysis);
        publish(uri, diagnostics)
    }

    fn request(&mut self, request: Request) -> Response {
        let id = request.id.clone();
        match self.answer(request) {
            Ok(value) => Response::new_ok(id, value),
            Err((code, message)) => Response::new_err(id, code as i32, message),
        }
    }

    fn answer(&mut self, request: Request) -> Result<serde_json::Value, (ErrorCode, String)> {
        use lsp::request::*;
        let bad = |e: serde_json::Error| (ErrorCode::InvalidParams, e.to_string());
        let value = match request.method.as_str() {
            HoverRequest::METHOD => {
                let params: lsp::HoverParams =
                    serde_json::from_value(request.params).map_err(bad)?;
                let at = &params.text_document_position_params;
                let doc = self.document(&at.text_document.uri)?;
                let offset = doc.offset(at.position);
                serde_json::to_value(doc.hover(offset).map(|(span, text)| lsp::Hover {
                    contents: lsp::HoverContents::Markup(lsp::MarkupContent {
                        kind: lsp::MarkupKind::Markdown,
                        value: text,
                    }),
                    range: (span.file == FileId(0)).then(|| doc.range(span)),
                }))
            }
            GotoDefinition::METHOD => {
                let params: lsp::GotoDefinitionParams =
                    serde_json::from_value(request.params).map_err(bad)?;
                let at = &params.text_document_position_params;
                let doc = self.document(&at.text_document.uri)?;
                let found = doc
                    .definition(doc.offset(at.position))
                    .and_then(|(file, span)| {
                        let uri = if file == FileId(0) {
                            at.text_document.uri.clone()
                        } else {
                            file_uri(doc, file)?
                        };
                        let range = if file == FileId(0) {
                            doc.range(span)
                        } else {
                            let text = &doc.program.sources.file(file).text;
                            line_index::LineIndex::new(text).range(
                                text,
                                span.start as usize,
                                span.end as usize,
                            )
                        };
                        Some(lsp::GotoDefinitionResponse::Scalar(lsp::Location {
                            uri,
                            range,
                        }))
                    });
                serde_json::to_value(found)
            }
            DocumentSymbolRequest::METHOD => {
                let params: lsp::DocumentSymbolParams =
                    serde_json::from_value(request.params).map_err(bad)?;
                let doc = self.document(&params.text_document.uri)?;
                serde_json::to_value(lsp::DocumentSymbolResponse::Nested(doc.symbols()))
            }
            Completion::METHOD => {
                let params: lsp::CompletionParams =
                    serde_json::from_value(request.params).map_err(bad)?;
                let at = &params.text_document_position;
                let doc = self.document(&at.text_document.uri)?;
                let items = doc.completion(doc.offset(at.position));
                serde_json::to_value(lsp::CompletionResponse::Array(items))
            }
            SignatureHelpRequest::METHOD => {
                let params: lsp::SignatureHelpParams =
                    serde_json::from_value(request.params).map_err(bad)?;
                let at = &params.text_document_position_params;
                let doc = self.document(&at.text_document.uri)?;
                serde_json::to_value(doc.signature_help(doc.offset(at.position)))
            }
            Formatting::METHOD => {
                let params: lsp::DocumentFormattingParams =
                    serde_json::from_value(request.params).map_err(bad)?;
                let doc = self.document(&params.text_document.uri)?;
                let text = doc.text();
                let edits = match crate::syntax::format::format(text) {
                    Ok(formatted) if formatted != text => vec![lsp::TextEdit {
                        range: doc.range(crate::base::Span::new(FileId(0), 0, text.len())),
                        new_text: formatted,
                    }],
                    Ok(_) => Vec::new(),
                    // A file with syntax errors is left as it is (the diagnostics say why).
                    Err(_) => return Ok(serde_json::Value::Null),
                };
                serde_json::to_value(edits)
            }
            other => {
                return Err((
                    ErrorCode::MethodNotFound,
                    format!("tk's language server does not handle `{other}`"),
                ))
            }
        };
        value.map_err(|e| (ErrorCode::InternalError, e.to_string()))
    }

    fn document(&self, uri: &lsp::Uri) -> Result<&Analysis, (ErrorCode, String)> {
        self.documents.get(uri.as_str()).ok_or_else(|| {
            (
                ErrorCode::InvalidParams,
                format!("document `{}` is not open", uri.as_str()),
            )
        })
    }
}

fn publish(uri: lsp::Uri, diagnostics: Vec<lsp::Diagnostic>) -> Option<Notification> {
    let params = lsp::PublishDiagnosticsParams {
        uri,
        diagnostics,
        version: None,
    };
    Some(Notification::new(
        lsp::notification::PublishDiagnostics::METHOD.to_string(),
        params,
    ))
}

/// The path of a `file:` URI (percent-decoded); other URIs are used as they are.
pub fn uri_to_path(uri: &lsp::Uri) -> String {
    let text = uri.as_str();
    let Some(path) = text.strip_prefix("file://") else {
        return text.to_string();
    };
    let bytes = path.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            if let Ok(byte) = u8::from_str_radix(&path[i + 1..i + 3], 16) {
                out.push(byte);
                i += 3;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// A `file:` URI for an absolute path.
pub fn path_to_uri(path: &std::path::Path) -> Option<lsp::Uri> {
    let mut text = String::from("file://");
    for byte in path.to_string_lossy().bytes() {
        match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'/' | b'-' | b'_' | b'.' | b'~' => {
                text.push(byte as char)
            }
            other => text.push_str(&format!("%{other:02X}")),
        }
    }
    lsp::Uri::from_str(&text).ok()
}

/// The URI of a `use`d file. Standard modules are embedded in tk, so they are written to a
/// read-only copy in the temp directory for the editor to open.
fn file_uri(doc: &Analysis, file: FileId) -> Option<lsp::Uri> {
    let source = doc.program.sources.file(file);
    let path = match source.name.strip_prefix("<stdlib>/") {
        Some(module) => {
            let dir = std::env::temp_dir().join(format!("tk-stdlib-{}", env!("CARGO_PKG_VERSION")));
            std::fs::create_dir_all(&dir).ok()?;
            let path = dir.join(module);
            if std::fs::read_to_string(&path).ok().as_deref() != Some(source.text.as_str()) {
                std::fs::write(&path, &source.text).ok()?;
            }
            path
        }
        None => std::fs::canonicalize(&source.name).ok()?,
    };
    path_to_uri(&path)
}
