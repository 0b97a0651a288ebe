"""What every checker pass works on: the spec, its symbols, and the diagnostics found so far."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from steerdsl.lang import syntax
from steerdsl.lang.diagnostics import Diagnostic, Span
from steerdsl.lang.suggest import closest
from steerdsl.lang.symbols import Symbols


@dataclass
class Context:
    spec: syntax.SpecTree
    sym: Symbols
    spec_dir: Path
    diags: list[Diagnostic] = field(default_factory=list)

    def error(self, message: str, span: Span, suggestion: str | None = None) -> None:
        self.diags.append(Diagnostic("error", message, span, suggestion))

    def warn(self, message: str, span: Span) -> None:
        self.diags.append(Diagnostic("warning", message, span))

    def unknown(self, kind: str, name: syntax.Name, known, failed_kind: str | None = None) -> bool:
        """Report `name` unless it is known; True when it is known (or excused)."""
        if name.value in known:
            return True
        if failed_kind and self.sym.is_failed(failed_kind, name.value):
            return True
        options = list(known)
        listed = f" (defined: {', '.join(options)})" if 0 < len(options) <= 8 else ""
        self.error(f"unknown {kind} '{name.value}'{listed}", name.span,
                   closest(name.value, options))
        return False
