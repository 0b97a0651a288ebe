"""A Pygments lexer for .steer specs, so docs, notebooks and `pygmentize -l steer` highlight
them. Registered under the `pygments.lexers` entry point (pyproject.toml): Sphinx, MkDocs
and Jupyter find it once steerdsl is installed; code fences are ```steer.

The keywords are the grammar's own words and the built-in names come from the catalog, so a
setting added later is highlighted without an edit here (tests/test_highlight.py holds it).
"""

from __future__ import annotations

from pygments.lexer import RegexLexer, bygroups, words
from pygments.token import (Comment, Keyword, Name, Number, Operator, Punctuation, String,
                            Whitespace)

from steerdsl import catalog
from steerdsl.lang.grammar import BLOCK_KEYWORDS, parser

_NAME = r"[A-Za-z_][A-Za-z0-9_]*"


def grammar_keywords() -> tuple[str, ...]:
    """Every word the grammar spells out (block kinds, settings, their word values)."""
    return tuple(sorted({t.pattern.value for t in parser().terminals
                         if t.pattern.type == "str" and t.pattern.value.isidentifier()}))


def builtin_names() -> tuple[str, ...]:
    """Names that mean something without a declaration: measures and prompts."""
    return tuple(sorted(set(catalog.MEASURES) | set(catalog.BUILTIN_PROMPTS)))


def _placeholders(end: str) -> list:
    # {text}, {requests}, {suffix} inside templates; the closing quote pops the state.
    return [
        (end, String, "#pop"),
        (r"\{" + _NAME + r"\}", String.Interpol),
        (r'\\.', String.Escape) if end == '"' else (r'"(?!"")', String),
        (r'[^"\\{]+' if end == '"' else r'[^"{]+', String),
        (r"\{", String),
    ]


class SteerLexer(RegexLexer):
    """The .steer spec language of steerdsl (declarative LLM steerability evaluation)."""

    name = "steer"
    aliases = ["steer"]
    filenames = ["*.steer"]
    mimetypes = ["text/x-steer"]

    _blocks = tuple(k for k in BLOCK_KEYWORDS if k not in ("goals", "evaluate"))
    tokens = {
        "root": [
            (r"\s+", Whitespace),
            (r"#.*?$", Comment.Single),
            (r'"""', String, "long"),
            (r'"', String, "string"),
            # a block's header: `model NAME {`, `prompt NAME extends`, `probe NAME from`
            (words(_blocks, prefix=r"(?<![A-Za-z0-9_])", suffix=r"(\s+)(" + _NAME +
                   r")(?=\s*(?:\{|extends\b|from\b))"),
             bygroups(Keyword.Declaration, Whitespace, Name.Class)),
            (r"(goals|evaluate)(?=\s*\{)", Keyword.Declaration),
            (r"(" + _NAME + r")(\s*)(=)", bygroups(Name.Variable, Whitespace, Operator)),
            (words(grammar_keywords(), prefix=r"(?<![A-Za-z0-9_])", suffix=r"\b"), Keyword),
            (words(builtin_names(), prefix=r"(?<![A-Za-z0-9_])", suffix=r"\b"), Name.Builtin),
            (r"[0-9]+(\.[0-9]+)?([eE][+-]?[0-9]+)?%?", Number),
            (r"\.\.", Operator),
            (r"[-+*/%]", Operator),
            (r"[{}(),]", Punctuation),
            (_NAME, Name),
        ],
        "string": _placeholders('"'),
        "long": _placeholders('"""'),
    }
