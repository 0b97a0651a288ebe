#!/usr/bin/env node
// Tokenizes every spec of the repository (specs/, tests/golden/specs, steerdsl/starter,
// tests/golden/fmt, test/fuzz) with the extension's TextMate grammar, as VS Code does
// (vscode-textmate + vscode-oniguruma), and fails when:
//   - anything but white space is left unscoped (only `source.steer`);
//   - a word of the language (test/keywords.json, written from steerdsl's own tables) is not
//     scoped as a keyword (values: constant.language) outside strings and comments, unless it
//     is a name being declared (keywords are contextual: a goal may be called `delta`);
//   - a name that is no keyword is scoped as a keyword, or a number is not numeric.
// Usage: node test/check-grammar.js [FILE.steer ...]   (default: every spec of the repository)
"use strict";

const fs = require("fs");
const path = require("path");
const vsctm = require("vscode-textmate");
const oniguruma = require("vscode-oniguruma");

const HERE = __dirname;
const EXTENSION = path.resolve(HERE, "..");
const REPO = path.resolve(EXTENSION, "..", "..");
const GRAMMAR = path.join(EXTENSION, "syntaxes", "steer.tmLanguage.json");
const WORDS = JSON.parse(fs.readFileSync(path.join(HERE, "keywords.json"), "utf8"));
const KEYWORDS = new Set([...WORDS.blocks, ...WORDS.keywords]);
const VALUES = new Set(WORDS.values);

function specs() {
  // the examples, the golden specs, `steerdsl init`'s starter, fmt's messy and formatted
  // layouts, and our fuzzed ones
  const dirs = [path.join(REPO, "specs"), path.join(REPO, "tests", "golden", "specs"),
    path.join(REPO, "steerdsl", "starter"), path.join(REPO, "tests", "golden", "fmt"),
    path.join(HERE, "fuzz")];
  const files = [];
  for (const dir of dirs.filter((d) => fs.existsSync(d))) {
    for (const name of fs.readdirSync(dir).sort()) {
      if (name.endsWith(".steer")) files.push(path.join(dir, name));
    }
  }
  return files;
}

async function loadGrammar() {
  const wasm = fs.readFileSync(require.resolve("vscode-oniguruma/release/onig.wasm")).buffer;
  await oniguruma.loadWASM(wasm);
  const registry = new vsctm.Registry({
    onigLib: Promise.resolve({
      createOnigScanner: (patterns) => new oniguruma.OnigScanner(patterns),
      createOnigString: (s) => new oniguruma.OnigString(s),
    }),
    loadGrammar: async (scope) => scope === "source.steer"
      ? vsctm.parseRawGrammar(fs.readFileSync(GRAMMAR, "utf8"), GRAMMAR) : null,
  });
  return registry.loadGrammar("source.steer");
}

const has = (scopes, prefix) => scopes.some((s) => s.startsWith(prefix));

function problems(grammar, file) {
  const found = [];
  const lines = fs.readFileSync(file, "utf8").split(/\r?\n/);
  let stack = vsctm.INITIAL;
  lines.forEach((line, i) => {
    const result = grammar.tokenizeLine(line, stack);
    stack = result.ruleStack;
    for (const token of result.tokens) {
      const text = line.slice(token.startIndex, token.endIndex);
      const where = `${path.relative(REPO, file)}:${i + 1}:${token.startIndex + 1}`;
      const scopes = token.scopes.slice(1);
      const bad = (why) => found.push(`${where}: ${JSON.stringify(text)} ${why} ` +
        `(scopes: ${token.scopes.join(" ")})`);
      if (!text.trim()) continue;
      if (scopes.length === 0) { bad("is not scoped"); continue; }
      if (has(scopes, "string.") || has(scopes, "comment.")) continue;
      const word = text.trim();
      if (/^[A-Za-z_][A-Za-z0-9_]*$/.test(word)) {
        const declared = has(scopes, "entity.name.");
        if (KEYWORDS.has(word) && !has(scopes, "keyword.") && !declared) {
          bad("is a keyword, not scoped as one");
        } else if (VALUES.has(word) && !has(scopes, "constant.language") && !declared) {
          bad("is a value word, not scoped as constant.language");
        } else if (!KEYWORDS.has(word) && !VALUES.has(word) &&
                   (has(scopes, "keyword.") || has(scopes, "constant.language"))) {
          bad("is a name, scoped as a keyword");
        }
      } else if (/^[0-9]/.test(word) && !has(scopes, "constant.numeric")) {
        bad("is a number, not scoped as one");
      }
    }
  });
  return found;
}

async function main() {
  const grammar = await loadGrammar();
  const files = process.argv.length > 2 ? process.argv.slice(2) : specs();
  let failed = 0;
  for (const file of files) {
    const found = problems(grammar, file);
    failed += found.length;
    for (const p of found) console.error(p);
  }
  if (files.length === 0) {
    console.error("no spec found");
    process.exit(1);
  }
  console.log(`${files.length} specs tokenized, ${failed} problems`);
  process.exit(failed ? 1 : 0);
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
