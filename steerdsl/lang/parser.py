"""Parsing: spec text -> syntax tree (steerdsl.lang.syntax) plus syntax diagnostics.

Every top-level block is parsed on its own (steerdsl.lang.blocks), so each broken block gives
its own error and the intact ones still reach the checker.
"""

from __future__ import annotations

import math
import re
import textwrap
from functools import lru_cache
from pathlib import Path

import lark
from lark.exceptions import UnexpectedCharacters, UnexpectedInput, UnexpectedToken

from steerdsl.lang import syntax
from steerdsl.lang.blocks import Chunk, split_blocks
from steerdsl.lang.diagnostics import Diagnostic, SourceText, Span
from steerdsl.lang.suggest import closest
from steerdsl.lang.grammar import BLOCK_KEYWORDS, keyword_of, parser, terminal_texts

# Deeper trees would exhaust Python's recursion when they are walked; no sane goal needs this.
MAX_DEPTH = 64


def read_source(path: str | Path, display: str | None = None) -> tuple[SourceText, list[Diagnostic]]:
    """The spec's text; an unreadable or non-UTF-8 file is a diagnostic, not a traceback."""
    shown = display if display is not None else str(path)
    try:
        data = Path(path).read_bytes()
    except OSError as e:
        reason = e.strerror or type(e).__name__
        return SourceText(shown, ""), [
            Diagnostic("error", f"cannot read the spec: {reason}", Span(shown, 1, 1, 1, 1))]
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as e:
        good = data[: e.start].decode("utf-8", "replace")
        line, col = _place(good, len(good))
        text = data.decode("utf-8", "replace")
        return SourceText(shown, text), [Diagnostic(
            "error", f"the spec is not valid UTF-8 (byte 0x{data[e.start]:02x})",
            Span(shown, line, col, line, col + 1))]
    return SourceText(shown, text.removeprefix("\ufeff")), []


def parse_text(text: str, path: str) -> tuple[syntax.SpecTree, list[Diagnostic], list[Span]]:
    """Returns the tree, syntax diagnostics, and the spans of literal API keys (to mask)."""
    spec = syntax.SpecTree(path=path)
    diags: list[Diagnostic] = []
    secrets: list[Span] = []
    for chunk in split_blocks(text):
        body = text[chunk.start:chunk.end]
        # Pad so lark's line/column numbers are the file's own.
        padded = "\n" * (chunk.line - 1) + " " * (chunk.col - 1) + body
        try:
            tree = parser().parse(padded, on_error=_keyword_as_name)
        except UnexpectedInput as e:
            secrets += _find_literal_keys(padded, path)
            salvaged = _salvage_goals(text, chunk, path) if chunk.kind == "goals" else None
            if salvaged is not None:
                block, goal_diags, broken = salvaged
                spec.blocks.append(block)
                diags += goal_diags
                spec.failed += broken
                continue
            diags.append(_syntax_diagnostic(e, chunk, path, padded))
            spec.failed.append(syntax.FailedBlock(chunk.kind or "?", chunk.name,
                                               Span(path, chunk.line, chunk.col, chunk.line,
                                                    chunk.col + len(chunk.kind or "?"))))
            continue
        blocks, block_diags, block_secrets = _build(tree, path)
        if blocks is None:
            spec.failed.append(syntax.FailedBlock(chunk.kind or "?", chunk.name,
                                               block_diags[0].span))
        else:
            spec.blocks += blocks
        diags += block_diags
        secrets += block_secrets
    return spec, diags, secrets


def _build(tree: lark.Tree, path: str):
    """Syntax-tree blocks of a parsed chunk, or None with an error when it is too deep."""
    builder = _Builder(path)
    deep = _too_deep(tree)
    if deep is not None:
        return None, [Diagnostic(
            "error", f"expression nested too deeply (more than {MAX_DEPTH} levels)",
            builder.span(deep))], []
    blocks = [builder.build(child) for child in tree.children]
    return blocks, builder.diags, builder.secrets


_GOAL_START = re.compile(r"([A-Za-z_][A-Za-z0-9_]*)[ \t]*=")


def _salvage_goals(text: str, chunk: Chunk, path: str):
    """A goals block with a syntax error, parsed goal by goal: the good goals are kept, each
    broken goal gives its own error. None when the block cannot be cut into goals (then the
    block's first error is reported as usual)."""
    if not chunk.closed or chunk.brace is None:
        return None
    body = text[chunk.start:chunk.end]
    open_at = body.find("{")
    close_at = body.rfind("}")
    if open_at < 0 or close_at < open_at:
        return None
    inner_start = chunk.start + open_at + 1
    inner = text[inner_start:chunk.start + close_at]
    starts = [m.start() for m in _GOAL_START.finditer(inner)
              if not inner[:m.start()].strip() or _line_start(inner, m.start())]
    if not starts or _strip_comments(inner[:starts[0]]).strip():
        return None
    goals: list[syntax.Goal] = []
    diags: list[Diagnostic] = []
    broken: list[syntax.FailedBlock] = []
    for i, start in enumerate(starts):
        end = starts[i + 1] if i + 1 < len(starts) else len(inner)
        offset = inner_start + start
        line, col = _place(text, offset)
        if line == 1 and col <= len("goals{"):
            return None
        # "goals{" sits in the padding, so the goal keeps its own line and column.
        indent = col - 1 - (len("goals{") if line == 1 else 0)
        prefix = "goals{" + "\n" * (line - 1) + " " * indent
        piece = prefix + inner[start:end] + "\n}"
        name = _GOAL_START.match(inner, start).group(1)
        try:
            tree = parser().parse(piece, on_error=_keyword_as_name)
        except UnexpectedInput as e:
            if isinstance(e, UnexpectedToken) and e.token.type == "RBRACE" and \
                    e.token.start_pos == len(piece) - 1:
                # Our own closing brace: the goal stops too early. Point at its last word.
                body_end = len(piece) - 2
                last = re.search(r"(\S+)\s*$", _strip_comments(piece[:body_end]))
                at = last.start(1) if last else body_end
                at_line, at_col = _place(piece, at)
                width = len(last.group(1)) if last else 1
                # After a stray word the parser expects "=" of a next goal: not worth saying.
                hint = "" if "EQUAL" in e.expected else _expected(e.expected)
                diags.append(Diagnostic("error", f"goal '{name}' is incomplete after this{hint}",
                                        Span(path, at_line, at_col, at_line, at_col + width)))
            else:
                piece_chunk = Chunk(offset, offset, line, col, "goals", None)
                diags.append(_syntax_diagnostic(e, piece_chunk, path, piece))
            broken.append(syntax.FailedBlock("goal", name, Span(path, line, col, line,
                                                              col + len(name))))
            continue
        blocks, piece_diags, _ = _build(tree, path)
        diags += piece_diags
        if blocks is None:
            broken.append(syntax.FailedBlock("goal", name, piece_diags[0].span))
        else:
            goals += blocks[0].goals
    if not broken:
        return None  # the goals are fine: the error is elsewhere in the block
    end_line, end_col = _place(text, chunk.start + close_at)
    span = Span(path, chunk.line, chunk.col, end_line, end_col + 1)
    return syntax.Goals(goals, span), diags, broken


def _place(text: str, pos: int) -> tuple[int, int]:
    """1-based line and column of an offset."""
    return text.count("\n", 0, pos) + 1, pos - (text.rfind("\n", 0, pos) + 1) + 1


def _line_start(text: str, pos: int) -> bool:
    return not text[text.rfind("\n", 0, pos) + 1:pos].strip()


def _strip_comments(text: str) -> str:
    return re.sub(r"#[^\n]*", "", text)


# --- syntax errors ---------------------------------------------------------------------------


def _keyword_as_name(e: UnexpectedInput) -> bool:
    """Retry a keyword as a plain name where a name fits (a goal called `rpm`).

    LALR merges parser states, so the contextual lexer may see a keyword as possible right
    after a number even where only a name can follow; lark then reads `rpm` as the keyword.
    """
    if not isinstance(e, UnexpectedToken) or not keyword_of(e.token.type):
        return False
    ip = e.interactive_parser
    if ip is None or "NAME" not in ip.accepts():
        return False
    ip.feed_token(lark.Token.new_borrow_pos("NAME", str(e.token), e.token))
    return True


def _syntax_diagnostic(e: UnexpectedInput, chunk: Chunk, path: str, text: str) -> Diagnostic:
    if isinstance(e, UnexpectedCharacters):
        line, col = e.line, e.column
        ch = text[e.pos_in_stream] if e.pos_in_stream < len(text) else ""
        if ch == '"':
            end = text.find("\n", e.pos_in_stream)
            end_col = col + ((end if end >= 0 else len(text)) - e.pos_in_stream)
            return Diagnostic("error", "unterminated string", Span(path, line, col, line, end_col))
        return Diagnostic("error", f"unexpected character {ch!r}{_expected(e.allowed)}",
                          Span(path, line, col, line, col + 1))
    assert isinstance(e, UnexpectedToken)
    tok = e.token
    e.expected = _accepted(e)
    if tok.type == "$END":
        if not chunk.closed and chunk.brace:
            line, col = chunk.brace
            return Diagnostic("error", f"'{{' of this {chunk.kind} block is never closed: "
                              "missing '}'", Span(path, line, col, line, col + 1))
        line = getattr(tok, "end_line", None) or chunk.line
        col = getattr(tok, "end_column", None) or chunk.col
        return Diagnostic("error", f"unexpected end of file{_expected(e.expected)}",
                          Span(path, line, col, line, col + 1))
    span = Span(path, tok.line, tok.column, tok.end_line or tok.line,
                tok.end_column or tok.column + 1)
    word = str(tok.value)
    keywords = sorted({k for t in e.expected if (k := keyword_of(t))})
    if word.isidentifier() and tok.start_pos == _first_token_pos(text):
        return Diagnostic("error", f"unknown block '{word}' (blocks: {', '.join(BLOCK_KEYWORDS)})",
                          span, closest(word, BLOCK_KEYWORDS))
    if word.isidentifier() and "RBRACE" in e.expected and keywords:
        return Diagnostic("error", f"unknown setting '{word}' in {chunk.kind} block "
                          f"(settings here: {', '.join(keywords)})", span,
                          closest(word, keywords))
    friendly = _friendly(e)
    if friendly is not None:
        return Diagnostic("error", f"unexpected {_describe(tok)}: {friendly}", span)
    suggestion = closest(word, keywords) if word.isidentifier() else None
    return Diagnostic("error", f"unexpected {_describe(tok)}{_expected(e.expected)}", span,
                      suggestion)


# Friendly messages for common mistakes, found like lark's match_examples: an error whose
# parser state and accepted tokens equal those of an example's error gets the example's text.
FRIENDLY: dict[str, tuple[str, ...]] = {
    "write 'requests N per source'": (
        "probe p from c { requests 3 }", "probe p from c { requests 3 active 1 }"),
    "a quantile normalization names its corpus: normalize quantile A%..B% of CORPUS": (
        "goals { a = x normalize quantile 1%..2% }",
        "goals { a = x normalize quantile 1%..2% b = y }"),
    "normalize takes a range: normalize LO..HI": (
        "goals { a = x normalize 1 }", "goals { a = x normalize 1 b = y }"),
    "API keys come from the environment: write api_key env VARIABLE": (
        "model m { api_key KEY }",),
    "sampling weights are 'weighted uniform' or 'unweighted'": (
        "probe p from c { sources 3 weighted }", "probe p from c { sources 3 weighted x }"),
}


@lru_cache(maxsize=1)
def _friendly_table() -> dict[tuple, str]:
    table = {}
    for message, examples in FRIENDLY.items():
        for example in examples:
            try:
                parser().parse(example)
            except UnexpectedToken as e:
                table[_signature(e)] = message
    return table


def _signature(e: UnexpectedToken) -> tuple:
    ip = getattr(e, "interactive_parser", None)
    position = ip.parser_state.position if ip is not None else e.state
    return position, frozenset(_accepted(e))


def _friendly(e: UnexpectedToken) -> str | None:
    try:
        return _friendly_table().get(_signature(e))
    except Exception:  # a signature that cannot be computed: no friendly text, no crash
        return None


def _accepted(e: UnexpectedToken) -> set[str]:
    """What the parser really accepts here. LALR merges states, so lark's `expected` may list
    terminals that only fit elsewhere; the interactive parser's accepts() tries each one."""
    ip = getattr(e, "interactive_parser", None)
    if ip is not None:
        try:
            found = ip.accepts()
        except Exception:  # an odd state: fall back to lark's own list
            found = None
        if found:
            return set(found)
    return set(e.expected)


def _first_token_pos(text: str) -> int:
    return len(text) - len(text.lstrip())


def _describe(tok: lark.Token) -> str:
    if tok.type in ("STRING", "LONG_STRING"):
        return "string"  # never echo a string: it may be a key
    if tok.type == "NUMBER":
        return f"number {tok.value}"
    value = str(tok.value)
    return f"'{value[:40]}{'...' if len(value) > 40 else ''}'"


def _expected(terminals) -> str:
    if not terminals:
        return ""
    texts = terminal_texts()
    shown = sorted({texts.get(t, t) for t in terminals})
    if len(shown) > 12:
        shown = shown[:12] + ["..."]
    return "; expected " + (shown[0] if len(shown) == 1 else "one of " + ", ".join(shown))


def _find_literal_keys(text: str, path: str) -> list[Span]:
    """Spans of `api_key "..."` strings in a block that did not parse, so no message shows
    them."""
    spans = []
    for m in re.finditer(r'\bapi_key\s+("(?:[^"\\\n]|\\[^\n])*"?)', text):
        line, col = _place(text, m.start(1))
        spans.append(Span(path, line, col, line, col + len(m.group(1))))
    return spans


def _too_deep(tree: lark.Tree) -> lark.Tree | None:
    stack = [(tree, 1)]
    while stack:
        node, depth = stack.pop()
        if depth > MAX_DEPTH:
            return node
        stack.extend((c, depth + 1) for c in node.children if isinstance(c, lark.Tree))
    return None


# --- lark tree -> syntax tree ----------------------------------------------------------------


def unquote(token: lark.Token) -> str:
    raw = str(token)
    if token.type == "LONG_STRING":
        body = raw[3:-3]
        # Templates are written indented inside their block: drop the first line break, a
        # last line of only indentation, and the common indentation.
        if body.startswith("\r\n"):
            body = body[2:]
        elif body.startswith("\n"):
            body = body[1:]
        last = body.rfind("\n")
        if last >= 0 and not body[last + 1:].strip():
            body = body[:last]
        return textwrap.dedent(body.replace("\r\n", "\n"))
    out, i, body = [], 0, raw[1:-1]
    escapes = {"n": "\n", "t": "\t", '"': '"', "\\": "\\"}
    while i < len(body):
        ch = body[i]
        if ch == "\\" and i + 1 < len(body):
            nxt = body[i + 1]
            out.append(escapes.get(nxt, "\\" + nxt))
            i += 2
        else:
            out.append(ch)
            i += 1
    return "".join(out)


class _Builder:
    def __init__(self, path: str):
        self.path = path
        self.diags: list[Diagnostic] = []
        self.secrets: list[Span] = []

    def span(self, node) -> Span:
        if isinstance(node, lark.Token):
            return Span(self.path, node.line, node.column, node.end_line, node.end_column)
        m = node.meta
        return Span(self.path, m.line, m.column, m.end_line, m.end_column)

    def build(self, tree: lark.Tree):
        return getattr(self, tree.data)(tree)

    # values

    def name(self, tok: lark.Token) -> syntax.Name:
        return syntax.Name(str(tok), self.span(tok))

    def num(self, tree: lark.Tree) -> syntax.Num:
        toks = tree.children
        text = "".join(str(t) for t in toks)
        digits = next(t for t in toks if t.type == "NUMBER")
        value = float(digits)
        if not math.isfinite(value):
            self.diags.append(Diagnostic("error", f"number out of range: {digits}",
                                         self.span(digits)))
            value = 0.0
        if any(t.type == "MINUS" for t in toks):
            value = -value
        return syntax.Num(value, text, any(t.type == "PERCENT" for t in toks), self.span(tree))

    def range(self, tree: lark.Tree) -> syntax.Range:
        lo, hi = tree.children
        return syntax.Range(self.num(lo), self.num(hi), self.span(tree))

    def amount(self, tree: lark.Tree) -> syntax.Num | syntax.Range:
        return self.num(tree) if tree.data == "num" else self.range(tree)

    def string(self, tree: lark.Tree) -> syntax.Str:
        return syntax.Str(unquote(tree.children[0]), self.span(tree))

    def names(self, tree: lark.Tree) -> list[syntax.Name]:
        return [self.name(t) for t in tree.children]

    def value(self, node) -> syntax.Value:
        if isinstance(node, lark.Token):
            return self.name(node)
        return {"num": self.num, "range": self.range, "string": self.string}[node.data](node)

    def setting(self, tree: lark.Tree) -> syntax.Setting:
        """A `!rule`: keyword tokens first, then at most one value."""
        keys = [c for c in tree.children if isinstance(c, lark.Token) and keyword_of(c.type)]
        rest = [c for c in tree.children if not (isinstance(c, lark.Token) and keyword_of(c.type))]
        value = self.value(rest[0]) if rest else None
        if value is None and len(keys) > 1:
            value = self.name(keys[1])  # no_explain on, select nearest
        return syntax.Setting(str(keys[0]), value, self.span(keys[0]), self.span(tree))

    # blocks

    def experiment(self, tree: lark.Tree) -> syntax.Experiment:
        name, *items = tree.children
        return syntax.Experiment(self.name(name), [self.setting(i) for i in items], self.span(tree))

    def corpus(self, tree: lark.Tree) -> syntax.Corpus:
        name, *items = tree.children
        reads = [self.read(i) for i in items if i.data == "read"]
        settings = [self.setting(i) for i in items if i.data == "corpus_setting"]
        return syntax.Corpus(self.name(name), reads, settings, self.span(tree))

    def read(self, tree: lark.Tree) -> syntax.Read:
        pattern, *fields = tree.children
        return syntax.Read(self.string(pattern), [self.setting(f) for f in fields], self.span(tree))

    def goals(self, tree: lark.Tree) -> syntax.Goals:
        return syntax.Goals([self.goal(g) for g in tree.children], self.span(tree))

    def goal(self, tree: lark.Tree) -> syntax.Goal:
        name, measure, *norm = tree.children
        return syntax.Goal(self.name(name), self.measure(measure),
                        self.normalization(norm[0]) if norm else None, self.span(tree))

    def measure(self, tree: lark.Tree) -> syntax.MeasureDef:
        if tree.data == "python_measure":
            ref, *timeout = tree.children
            return syntax.PythonMeasure(self.string(ref), self.span(tree),
                                     self.num(timeout[0]) if timeout else None)
        if tree.data == "judge_measure":
            model, rubric, scale = tree.children
            return syntax.JudgeMeasure(self.name(model), self.string(rubric), self.range(scale),
                                    self.span(tree))
        return syntax.ExprMeasure(self.expr(tree.children[0]), self.span(tree))

    def expr(self, node) -> syntax.Expr:
        span = self.span(node)
        if node.data == "number":
            tok = node.children[0]
            value = float(tok)
            if not math.isfinite(value):
                self.diags.append(Diagnostic("error", f"number out of range: {tok}", span))
                value = 0.0
            return syntax.NumberExpr(value, str(tok), span)
        if node.data == "measure_ref":
            return syntax.MeasureRef(self.name(node.children[0]), span)
        if node.data == "neg":
            return syntax.NegExpr(self.expr(node.children[0]), span)
        ops = {"add": "+", "sub": "-", "mul": "*", "div": "/"}
        left, right = node.children
        return syntax.BinExpr(ops[node.data], self.expr(left), self.expr(right), span)

    def normalization(self, tree: lark.Tree) -> syntax.Norm:
        if tree.data == "fixed_norm":
            return syntax.FixedNorm(self.range(tree.children[0]), self.span(tree))
        rng, corpus = tree.children
        return syntax.QuantileNorm(self.range(rng), self.name(corpus), self.span(tree))

    def probe(self, tree: lark.Tree) -> syntax.Probe:
        name, corpus, *items = tree.children
        return syntax.Probe(self.name(name), self.name(corpus),
                         [self.probe_item(i) for i in items], self.span(tree))

    def probe_item(self, tree: lark.Tree) -> syntax.ProbeItem:
        span = self.span(tree)
        c = tree.children
        if tree.data == "sources":
            weighting = None
            if len(c) > 1:
                weighting = "none" if str(c[1].children[0]) == "unweighted" else "uniform"
            return syntax.Sources(self.num(c[0]), weighting, span)
        if tree.data == "requests":
            return syntax.Requests(self.num(c[0]), span)
        if tree.data == "active":
            return syntax.Active(self.amount(c[0]), span)
        if tree.data == "delta":
            return syntax.Delta(self.range(c[0]), self.num(c[1]) if len(c) > 1 else None, span)
        return syntax.ProbeGoals(self.names(c[0]), span)

    def csv_probe(self, tree: lark.Tree) -> syntax.CsvProbe:
        name, path = tree.children
        return syntax.CsvProbe(self.name(name), self.string(path), self.span(tree))

    def model(self, tree: lark.Tree) -> syntax.Model:
        name, *items = tree.children
        settings, keys = [], []
        for i in items:
            if i.data == "api_key_env":
                keys.append(syntax.ApiKeyEnv(self.name(i.children[0]), self.span(i)))
            elif i.data == "api_key_literal":
                self.secrets.append(self.span(i.children[0]))
                keys.append(syntax.ApiKeyLiteral(self.span(i)))
            elif i.data == "price":
                settings.append(self.price(i))
            else:
                settings.append(self.setting(i))
        return syntax.Model(self.name(name), settings, keys, self.span(tree))

    def price(self, tree: lark.Tree) -> syntax.Setting:
        span = self.span(tree)
        # The keyword is filtered out of the tree; its place is the item's start.
        key_span = Span(self.path, span.line, span.col, span.line, span.col + len("price"))
        value = syntax.Price(self.num(tree.children[0]), self.num(tree.children[1]), span)
        return syntax.Setting("price", value, key_span, span)

    def prompt(self, tree: lark.Tree) -> syntax.Prompt:
        name, *rest = tree.children
        base = None
        if rest and rest[0].data == "extends":
            base = self.name(rest.pop(0).children[0])
        items: list = []
        for i in rest:
            span = self.span(i)
            if i.data == "template":
                items.append(syntax.Template(self.string(i.children[0]), span))
            elif i.data == "phrase":
                goal, up, down = i.children
                items.append(syntax.PhraseDef(self.name(goal), self.string(up), self.string(down),
                                           span))
            else:
                mods = [syntax.ModifierDef(self.name(m.children[0]), str(m.children[1]),
                                        self.num(m.children[2]), self.span(m))
                        for m in i.children]
                items.append(syntax.Modifiers(mods, span))
        return syntax.Prompt(self.name(name), base, items, self.span(tree))

    def intervention(self, tree: lark.Tree) -> syntax.Intervention:
        name, *items = tree.children
        prompts = [syntax.UsePrompt(self.name(i.children[0]), self.span(i))
                   for i in items if i.data == "use_prompt"]
        settings = [self.setting(i) for i in items if i.data == "intervention_setting"]
        return syntax.Intervention(self.name(name), prompts, settings, self.span(tree))

    def evaluate(self, tree: lark.Tree) -> syntax.Evaluate:
        items = []
        for i in tree.children:
            key = i.data.removeprefix("evaluate_")
            child = i.children[0]
            names = self.names(child) if isinstance(child, lark.Tree) else [self.name(child)]
            # The keyword itself is filtered out of the tree; its place is the item's start.
            s = self.span(i)
            key_span = Span(self.path, s.line, s.col, s.line, s.col + len(key))
            items.append(syntax.NameList(key, names, key_span, s))
        return syntax.Evaluate(items, self.span(tree))
