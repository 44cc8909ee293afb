//! Drives `tkc lsp` over stdio as an editor does: JSON-RPC messages with Content-Length headers.
use serde_json::{json, Value};
use std::io::{BufRead, BufReader, Read, Write};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc::{channel, Receiver};
use std::time::Duration;

struct Client {
    child: Child,
    stdin: ChildStdin,
    messages: Receiver<Value>,
    next_id: i64,
}

impl Client {
    fn start() -> Client {
        let mut child = Command::new(env!("CARGO_BIN_EXE_tkc"))
            .arg("lsp")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("tkc lsp starts");
        let stdin = child.stdin.take().unwrap();
        let stdout = child.stdout.take().unwrap();
        let (send, messages) = channel();
        std::thread::spawn(move || {
            let mut reader = BufReader::new(stdout);
            loop {
                let mut length = None;
                loop {
                    let mut line = String::new();
                    if reader.read_line(&mut line).unwrap_or(0) == 0 {
                        return;
                    }
                    let line = line.trim_end();
                    if line.is_empty() {
                        break;
                    }
                    if let Some(n) = line.strip_prefix("Content-Length: ") {
                        length = Some(n.parse::<usize>().unwrap());
                    }
                }
                let mut body = vec![0; length.expect("a Content-Length header")];
                reader.read_exact(&mut body).unwrap();
                if send.send(serde_json::from_slice(&body).unwrap()).is_err() {
                    return;
                }
            }
        });
        Client {
            child,
            stdin,
            messages,
            next_id: 0,
        }
    }

    fn send(&mut self, message: Value) {
        let body = message.to_string();
        write!(self.stdin, "Content-Length: {}\r\n\r\n{body}", body.len()).unwrap();
        self.stdin.flush().unwrap();
    }

    fn notify(&mut self, method: &str, params: Value) {
        self.send(json!({"jsonrpc": "2.0", "method": method, "params": params}));
    }

    /// Sends a request and waits for its response's `result`.
    fn request(&mut self, method: &str, params: Value) -> Value {
        self.next_id += 1;
        let id = self.next_id;
        self.send(json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params}));
        loop {
            let message = self.receive();
            if message["id"] == json!(id) {
                assert!(message.get("error").is_none(), "{method} failed: {message}");
                return message["result"].clone();
            }
        }
    }

    fn receive(&mut self) -> Value {
        self.messages
            .recv_timeout(Duration::from_secs(60))
            .expect("the server answers within a minute")
    }

    /// Waits for the next `publishDiagnostics`.
    fn diagnostics(&mut self) -> Value {
        loop {
            let message = self.receive();
            if message["method"] == "textDocument/publishDiagnostics" {
                return message["params"].clone();
            }
        }
    }
}

const URI: &str = "file:///tmp/tk-lsp-test/add.tk";

const BROKEN: &str = "/// Adds two vectors.
#[grid(cdiv(n, BLOCK))]
kernel add(x: *f32, y: *f32, out: *mut f32, n: i32, const BLOCK: i32 = 1024) {
    let offs = program_id(0) * BLOCK + arange(0, BLOCK);
    let mask = offs < n;
    let a = load(x + offs, mask: mask);
    let b = load(y + ofs, mask: mask);
    store(out + offs, a + b, mask: mask);
}
";

fn position(line: u32, character: u32) -> Value {
    json!({"textDocument": {"uri": URI}, "position": {"line": line, "character": character}})
}

#[test]
fn a_client_session() {
    let mut client = Client::start();
    let init = client.request(
        "initialize",
        json!({"processId": null, "rootUri": null, "capabilities": {}}),
    );
    let caps = &init["capabilities"];
    assert_eq!(caps["hoverProvider"], json!(true));
    assert_eq!(caps["definitionProvider"], json!(true));
    assert_eq!(caps["documentFormattingProvider"], json!(true));
    client.notify("initialized", json!({}));

    // An unknown name: E0201 on `ofs` (line 6, columns 21..24).
    client.notify(
        "textDocument/didOpen",
        json!({"textDocument": {"uri": URI, "languageId": "tk", "version": 1, "text": BROKEN}}),
    );
    let published = client.diagnostics();
    assert_eq!(published["uri"], URI);
    let diagnostics = published["diagnostics"].as_array().unwrap();
    assert_eq!(diagnostics.len(), 1, "{diagnostics:?}");
    assert_eq!(diagnostics[0]["code"], "E0201");
    assert_eq!(diagnostics[0]["severity"], 1);
    assert_eq!(
        diagnostics[0]["range"],
        json!({"start": {"line": 6, "character": 21}, "end": {"line": 6, "character": 24}})
    );
    assert!(diagnostics[0]["message"]
        .as_str()
        .unwrap()
        .contains("did you mean `offs`"));

    // Fixing it (and leaving one line unformatted) clears the diagnostics.
    let fixed = BROKEN
        .replace("y + ofs", "y + offs")
        .replace("let mask = offs < n;", "let mask=offs<n;");
    client.notify(
        "textDocument/didChange",
        json!({"textDocument": {"uri": URI, "version": 2}, "contentChanges": [{"text": fixed}]}),
    );
    let published = client.diagnostics();
    assert_eq!(published["diagnostics"], json!([]));

    // Hover on `a` in `a + b` shows its type at the const defaults.
    let hover = client.request("textDocument/hover", position(7, 22));
    let text = hover["contents"]["value"].as_str().unwrap();
    assert!(text.contains("let a: f32[1024]"), "{text}");
    assert!(text.contains("BLOCK = 1024"), "{text}");
    // Hover on an expression: `offs < n` is a bool block.
    let hover = client.request("textDocument/hover", position(4, 17));
    let text = hover["contents"]["value"].as_str().unwrap();
    assert!(text.contains("bool[1024]"), "{text}");
    // Hover on a builtin shows the builtin table's docs.
    let hover = client.request("textDocument/hover", position(5, 13));
    let text = hover["contents"]["value"].as_str().unwrap();
    assert!(text.contains("load(") && text.contains("mask"), "{text}");

    // Go to definition of `a` in `a + b` lands on the `let`.
    let definition = client.request("textDocument/definition", position(7, 22));
    assert_eq!(definition["uri"], URI);
    assert_eq!(
        definition["range"],
        json!({"start": {"line": 5, "character": 8}, "end": {"line": 5, "character": 9}})
    );

    // Symbols, completion and signature help.
    let symbols = client.request(
        "textDocument/documentSymbol",
        json!({"textDocument": {"uri": URI}}),
    );
    assert_eq!(symbols[0]["name"], "add");
    assert_eq!(symbols[0]["children"].as_array().unwrap().len(), 5);
    let completion = client.request("textDocument/completion", position(7, 4));
    let labels: Vec<&str> = completion
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["label"].as_str().unwrap())
        .collect();
    for expected in [
        "offs", "mask", "a", "b", "x", "BLOCK", "load", "arange", "let",
    ] {
        assert!(
            labels.contains(&expected),
            "{expected} missing from {labels:?}"
        );
    }
    let help = client.request("textDocument/signatureHelp", position(7, 22));
    assert!(help["signatures"][0]["label"]
        .as_str()
        .unwrap()
        .starts_with("store("));
    assert_eq!(help["activeParameter"], 1);

    // Formatting fixes the one unformatted line.
    let edits = client.request(
        "textDocument/formatting",
        json!({"textDocument": {"uri": URI}, "options": {"tabSize": 4, "insertSpaces": true}}),
    );
    let edits = edits.as_array().unwrap();
    assert_eq!(edits.len(), 1);
    assert_eq!(
        edits[0]["newText"].as_str().unwrap(),
        BROKEN.replace("y + ofs", "y + offs")
    );

    assert_eq!(client.request("shutdown", Value::Null), Value::Null);
    client.notify("exit", Value::Null);
    let status = client.child.wait().unwrap();
    assert!(status.success(), "{status}");
}

/// The VS Code extension: its JSON files parse, the grammar names every keyword, type and
/// builtin of the language, and the manifest points at the grammar, the configuration and the
/// client. (The grammar's scope assertions in `editors/vscode/tests/` run with
/// `npm run test-grammar`, which needs npm.)
#[test]
fn vscode_extension_is_complete() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("editors/vscode");
    let read = |name: &str| std::fs::read_to_string(dir.join(name)).unwrap();
    let grammar: Value = serde_json::from_str(&read("syntaxes/tk.tmLanguage.json")).unwrap();
    assert_eq!(grammar["scopeName"], "source.tk");
    let rules = grammar["repository"].to_string();
    let words = tk::lsp::analysis::KEYWORDS
        .iter()
        .chain(tk::lsp::analysis::SCALAR_TYPES)
        .copied()
        .chain(["None", "inf", "nan", "range", "static_range"])
        .chain(tk::sema::builtins::BUILTINS.iter().map(|b| b.name));
    for word in words {
        let alternative = |sep: &str| {
            rules.contains(&format!("({word}{sep}"))
                || rules.contains(&format!("|{word}|"))
                || rules.contains(&format!("|{word})"))
                || rules.contains(&format!("\\\\b{word}\\\\b"))
        };
        assert!(alternative("|"), "the grammar does not know `{word}`");
    }
    let manifest: Value = serde_json::from_str(&read("package.json")).unwrap();
    let language = &manifest["contributes"]["languages"][0];
    assert_eq!(language["id"], "tk");
    assert_eq!(language["extensions"], json!([".tk"]));
    let config_path = language["configuration"].as_str().unwrap();
    let config: Value = serde_json::from_str(&read(config_path)).unwrap();
    assert_eq!(config["comments"]["lineComment"], "//");
    let grammar_path = manifest["contributes"]["grammars"][0]["path"]
        .as_str()
        .unwrap();
    assert_eq!(grammar_path, "./syntaxes/tk.tmLanguage.json");
    let client = read(manifest["main"].as_str().unwrap());
    assert!(
        client.contains("\"lsp\""),
        "the client must start `tkc lsp`"
    );
    assert!(read("tests/vector_add.tk").starts_with("// SYNTAX TEST \"source.tk\""));
}
