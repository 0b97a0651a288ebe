// The Steer extension: the grammar, language configuration and snippets are declared in
// package.json; this starts the language server, `steerdsl lsp`, when the steerdsl command is
// found (the setting steer.server.command: a name on PATH or a full path).
"use strict";

const fs = require("fs");
const path = require("path");
const vscode = require("vscode");
const { LanguageClient } = require("vscode-languageclient/node");

let client = null;

// The executable a command names: itself when it is a path, else the first match on PATH.
function findCommand(command) {
  const names = process.platform === "win32"
    ? (process.env.PATHEXT || ".EXE;.CMD;.BAT").split(";").map((ext) => command + ext).concat([command])
    : [command];
  const isFile = (p) => {
    try {
      return fs.statSync(p).isFile();
    } catch {
      return false;
    }
  };
  if (command.includes("/") || command.includes(path.sep)) {
    return names.find(isFile) || null;
  }
  for (const dir of (process.env.PATH || "").split(path.delimiter)) {
    for (const name of names) {
      const candidate = path.join(dir, name);
      if (dir && isFile(candidate)) return candidate;
    }
  }
  return null;
}

async function activate(context) {
  const configured = vscode.workspace.getConfiguration("steer").get("server.command", "steerdsl");
  context.subscriptions.push(vscode.workspace.onDidChangeConfiguration((e) => {
    if (e.affectsConfiguration("steer.server.command")) {
      vscode.window.showInformationMessage(
        "Steer: reload the window to start the language server with the new command.");
    }
  }));
  if (!configured) return; // the language server is turned off
  const command = findCommand(configured);
  if (!command) {
    vscode.window.showInformationMessage(
      `Steer: '${configured}' was not found, so .steer files get highlighting but no ` +
      "diagnostics or completion. Install steerdsl with its lsp extra " +
      "(pip install 'steerdsl[lsp]') or set steer.server.command to its full path.");
    return;
  }
  client = new LanguageClient(
    "steer", "Steer language server",
    { command, args: ["lsp"] },
    { documentSelector: [{ scheme: "file", language: "steer" }, { scheme: "untitled", language: "steer" }] },
  );
  await client.start();
}

async function deactivate() {
  if (client) await client.stop();
}

module.exports = { activate, deactivate, findCommand };
