// The tk extension's client: starts `tkc lsp` (path from the `tk.server.path` setting) for .tk
// files and lets vscode-languageclient speak LSP to it over stdio.
const vscode = require("vscode");
const { LanguageClient, TransportKind } = require("vscode-languageclient/node");

let client;

function activate(context) {
  const command = vscode.workspace.getConfiguration("tk").get("server.path", "tkc");
  const server = { command, args: ["lsp"], transport: TransportKind.stdio };
  client = new LanguageClient(
    "tk",
    "tk language server",
    { run: server, debug: server },
    {
      documentSelector: [{ scheme: "file", language: "tk" }, { scheme: "untitled", language: "tk" }],
    }
  );
  context.subscriptions.push(client);
  return client.start();
}

function deactivate() {
  return client ? client.stop() : undefined;
}

module.exports = { activate, deactivate };
