"""`steerdsl lsp`: a language server for .steer specs over stdio (pygls, the `lsp` extra).

Every feature reads the editor's text, not the file on disk: `document` parses and checks it
with the same front end as `steerdsl check` (steerdsl.lang.check_source), relative paths
resolved against the document's folder. The features are plain functions of that analysis
and a position (`diagnostics`, `completion`, `hover`, `definition`, `formatting`); only
`server` knows pygls, so the rest is testable without it.
"""
