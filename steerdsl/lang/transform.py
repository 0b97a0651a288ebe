"""The lark tree -> the syntax tree (steerdsl.lang.syntax), one builder method per grammar rule.

The builder also collects what only it can see: numbers too large for a float, and the spans
of literal API keys (so no message shows them).
"""

from __future__ import annotations

import math
import textwrap

import lark

from steerdsl.lang import syntax
from steerdsl.lang.diagnostics import Diagnostic, Span
from steerdsl.lang.grammar import keyword_of

# Deeper trees would exhaust Python's recursion when they are walked; no sane goal needs this.
MAX_DEPTH = 64


def build_blocks(tree: lark.Tree, path: str
                 ) -> tuple[list[syntax.Block] | None, list[Diagnostic], list[Span]]:
    """Syntax-tree blocks of a parsed chunk, or None with an error when it is too deep; then
    the diagnostics and the spans of literal API keys."""
    builder = _Builder(path)
    deep = _too_deep(tree)
    if deep is not None:
        return None, [Diagnostic(
            "error", f"expression nested too deeply (more than {MAX_DEPTH} levels)",
            builder.span(deep))], []
    blocks = [builder.build(child) for child in tree.children]
    return blocks, builder.diags, builder.secrets


def _too_deep(tree: lark.Tree) -> lark.Tree | None:
    stack = [(tree, 1)]
    while stack:
        node, depth = stack.pop()
        if depth > MAX_DEPTH:
            return node
        stack.extend((c, depth + 1) for c in node.children if isinstance(c, lark.Tree))
    return None


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

    def finite(self, number: lark.Token, span: Span) -> float:
        """The number's value; 0, with an error, when it is too large for a float (1e999)."""
        value = float(number)
        if math.isfinite(value):
            return value
        self.diags.append(Diagnostic("error", f"number out of range: {number}", span))
        return 0.0

    def build(self, tree: lark.Tree):
        return getattr(self, tree.data)(tree)

    # values

    def name(self, tok: lark.Token) -> syntax.Name:
        return syntax.Name(str(tok), self.span(tok))

    def num(self, tree: lark.Tree) -> syntax.Num:
        toks = tree.children
        text = "".join(str(t) for t in toks)
        digits = next(t for t in toks if t.type == "NUMBER")
        value = self.finite(digits, self.span(digits))
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
        name, measure, *rest = tree.children
        question = [t for t in rest if t.data == "goal_question"]
        norm = [t for t in rest if t.data != "goal_question"]
        return syntax.Goal(self.name(name), self.measure(measure),
                           self.normalization(norm[0]) if norm else None, self.span(tree),
                           self.string(question[0].children[0]) if question else None)

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
            return syntax.NumberExpr(self.finite(tok, span), str(tok), span)
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
        if tree.data == "probe_exclude":
            return syntax.ProbeExclude(self.names(c[0]), span)
        return syntax.ProbeGoals(self.names(c[0]), span)

    def csv_probe(self, tree: lark.Tree) -> syntax.CsvProbe:
        name, path = tree.children
        return syntax.CsvProbe(self.name(name), self.string(path), self.span(tree))

    def model(self, tree: lark.Tree) -> syntax.Model:
        name, *items = tree.children
        settings, keys, deployments = [], [], []
        for i in items:
            if i.data in ("api_key_env", "api_key_literal"):
                keys.append(self.api_key(i))
            elif i.data == "price":
                settings.append(self.price(i))
            elif i.data == "deployment":
                deployments.append(self.deployment(i))
            else:
                settings.append(self.setting(i))
        return syntax.Model(self.name(name), settings, keys, self.span(tree), deployments)

    def api_key(self, tree: lark.Tree) -> syntax.ApiKeyEnv | syntax.ApiKeyLiteral:
        if tree.data == "api_key_env":
            return syntax.ApiKeyEnv(self.name(tree.children[0]), self.span(tree))
        self.secrets.append(self.span(tree.children[0]))
        return syntax.ApiKeyLiteral(self.span(tree))

    def deployment(self, tree: lark.Tree) -> syntax.Deployment:
        keys = [self.api_key(i) for i in tree.children if i.data != "deployment_setting"]
        settings = [self.setting(i) for i in tree.children if i.data == "deployment_setting"]
        return syntax.Deployment(settings, keys, self.span(tree))

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
        settings = [self.setting(i) for i in items
                    if i.data in ("intervention_setting", "training_setting")]
        rewards = [self.reward(i) for i in items if i.data == "reward"]
        lora = [syntax.LoraDef([self.setting(s) for s in i.children], self.span(i))
                for i in items if i.data == "lora"]
        feedback = [self.feedback(i) for i in items if i.data == "feedback"]
        return syntax.Intervention(self.name(name), prompts, settings, self.span(tree),
                                   rewards, lora, feedback)

    def feedback(self, tree: lark.Tree) -> syntax.FeedbackDef:
        rounds, *template = tree.children
        s = self.span(tree)
        key_span = Span(self.path, s.line, s.col, s.line, s.col + len("feedback"))
        return syntax.FeedbackDef(self.num(rounds),
                                  self.string(template[0].children[0]) if template else None,
                                  key_span, s)

    def reward(self, tree: lark.Tree) -> syntax.RewardDef:
        names = [c for c in tree.children if isinstance(c, lark.Token)]
        options = [self.setting(c) for c in tree.children if isinstance(c, lark.Tree)]
        return syntax.RewardDef(self.name(names[0]),
                                self.name(names[1]) if len(names) > 1 else None, options,
                                self.span(tree))

    def judge(self, tree: lark.Tree) -> syntax.Judge:
        name, *items = tree.children
        return syntax.Judge(self.name(name), [self.setting(i) for i in items], self.span(tree))

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
