"""The language server: pygls wiring of the features over stdio.

Documents are analysed on open and on every change (the checker takes milliseconds on a
spec), and diagnostics published each time; features convert places between the front end's
code-point columns and the client's units (pygls' position codec, UTF-16 by default).
"""

from __future__ import annotations

import os
import sys

from lsprotocol import types as lsp
from pygls.lsp.server import LanguageServer
from pygls.workspace import TextDocument

from steerdsl.lsp.completion import completions
from steerdsl.lsp.definition import find_definition
from steerdsl.lsp.diagnostics import lsp_diagnostics
from steerdsl.lsp.document import Document, Place
from steerdsl.lsp.formatting import formatted
from steerdsl.lsp.hover import hover

server = LanguageServer("steerdsl", "0.1.0")


# The last analysis of each open document: completion, hover and definition between two
# changes reuse the check done when the change arrived.
_analysed: dict[str, Document] = {}


def _document(uri: str) -> tuple[TextDocument, Document]:
    td = server.workspace.get_text_document(uri)
    doc = _analysed.get(uri)
    if doc is None or doc.text != td.source or doc.path != td.path:
        doc = _analysed[uri] = Document(td.source, td.path)
    return td, doc


def _range(td: TextDocument, start: Place, end: Place) -> lsp.Range:
    return td.position_codec.range_to_client_units(td.lines, lsp.Range(
        start=lsp.Position(start.line, start.col), end=lsp.Position(end.line, end.col)))


def _at(params: lsp.TextDocumentPositionParams) -> tuple[TextDocument, Document, int]:
    """The document a request is about, and the offset of its position."""
    td, doc = _document(params.text_document.uri)
    p = td.position_codec.position_from_client_units(td.lines, params.position)
    return td, doc, doc.offset(Place(p.line, p.character))


def _publish(uri: str) -> None:
    td, doc = _document(uri)
    try:
        found = lsp_diagnostics(doc, lambda s, e: _range(td, s, e))
    except Exception as e:  # a bug of the checker: say so in the editor, keep serving
        found = [lsp.Diagnostic(range=lsp.Range(lsp.Position(0, 0), lsp.Position(0, 0)),
                                message=f"internal error of the checker: {type(e).__name__}: "
                                        f"{e}", severity=lsp.DiagnosticSeverity.Error,
                                source="steerdsl")]
    server.text_document_publish_diagnostics(
        lsp.PublishDiagnosticsParams(uri=uri, diagnostics=found, version=td.version))


@server.feature(lsp.TEXT_DOCUMENT_DID_OPEN)
def did_open(ls: LanguageServer, params: lsp.DidOpenTextDocumentParams) -> None:
    _publish(params.text_document.uri)


@server.feature(lsp.TEXT_DOCUMENT_DID_CHANGE)
def did_change(ls: LanguageServer, params: lsp.DidChangeTextDocumentParams) -> None:
    _publish(params.text_document.uri)


@server.feature(lsp.TEXT_DOCUMENT_DID_SAVE)
def did_save(ls: LanguageServer, params: lsp.DidSaveTextDocumentParams) -> None:
    _analysed.pop(params.text_document.uri, None)
    _publish(params.text_document.uri)  # files the spec names may have appeared meanwhile


@server.feature(lsp.TEXT_DOCUMENT_DID_CLOSE)
def did_close(ls: LanguageServer, params: lsp.DidCloseTextDocumentParams) -> None:
    _analysed.pop(params.text_document.uri, None)
    server.text_document_publish_diagnostics(
        lsp.PublishDiagnosticsParams(uri=params.text_document.uri, diagnostics=[]))


@server.feature(lsp.TEXT_DOCUMENT_COMPLETION,
                lsp.CompletionOptions(trigger_characters=[" ", ",", "="]))
def completion(ls: LanguageServer, params: lsp.CompletionParams) -> lsp.CompletionList:
    _, doc, offset = _at(params)
    items = completions(doc, offset)
    return lsp.CompletionList(is_incomplete=False, items=items)


@server.feature(lsp.TEXT_DOCUMENT_HOVER)
def on_hover(ls: LanguageServer, params: lsp.HoverParams) -> lsp.Hover | None:
    td, doc, offset = _at(params)
    found = hover(doc, offset)
    if found is None:
        return None
    return lsp.Hover(contents=lsp.MarkupContent(kind=lsp.MarkupKind.Markdown,
                                                value=found.markdown),
                     range=_range(td, found.start, found.end))


@server.feature(lsp.TEXT_DOCUMENT_DEFINITION)
def on_definition(ls: LanguageServer, params: lsp.DefinitionParams) -> lsp.Location | None:
    td, doc, offset = _at(params)
    found = find_definition(doc, offset)
    if found is None:
        return None
    return lsp.Location(uri=params.text_document.uri, range=_range(td, *found))


@server.feature(lsp.TEXT_DOCUMENT_FORMATTING)
def on_formatting(ls: LanguageServer,
                  params: lsp.DocumentFormattingParams) -> list[lsp.TextEdit] | None:
    td, doc = _document(params.text_document.uri)
    new = formatted(doc)
    if new is None:
        return None
    end = doc.place(len(doc.text))
    return [lsp.TextEdit(range=_range(td, Place(0, 0), end), new_text=new)]


def serve() -> int:
    """Serve over stdin/stdout until the client says exit: 0 after a shutdown request, 1
    without one (as the protocol asks)."""
    # The protocol owns the real stdout; anything else printed (a library's warning) goes to
    # stderr instead of corrupting the stream.
    out = os.fdopen(os.dup(sys.stdout.fileno()), "wb")
    real_stdout, sys.stdout = sys.stdout, sys.stderr
    try:
        server.start_io(sys.stdin.buffer, out)
    finally:
        sys.stdout = real_stdout
    return 0 if getattr(server.protocol, "_shutdown", True) else 1
