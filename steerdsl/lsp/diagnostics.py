"""The checker's diagnostics as the protocol's: the same messages and places as
`steerdsl check` (a suggestion is part of the message: "...; did you mean 'x'?")."""

from __future__ import annotations

from collections.abc import Callable

from lsprotocol import types as lsp

from steerdsl.lsp.document import Document, Place

SEVERITY = {"error": lsp.DiagnosticSeverity.Error, "warning": lsp.DiagnosticSeverity.Warning}


def lsp_diagnostics(doc: Document,
                    to_range: Callable[[Place, Place], lsp.Range]) -> list[lsp.Diagnostic]:
    out = []
    for d in doc.diagnostics:
        start, end = doc.span_places(d.span)
        out.append(lsp.Diagnostic(range=to_range(start, end), message=d.text,
                                  severity=SEVERITY[d.severity], source="steerdsl"))
    return out
