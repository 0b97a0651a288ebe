"""`steerdsl lsp` as an editor uses it: a subprocess spoken to in JSON-RPC over its pipes
(tests/support/lsp_client.py). One server serves the module's tests; each test opens its own
document."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

from steerdsl import catalog
from steerdsl.lang import docs
from steerdsl.lang.diagnostics import SpecError
from steerdsl.lang.grammar import BLOCK_KEYWORDS

pytest.importorskip("pygls", reason="the lsp extra (pygls) is not installed")

from support.lsp_client import LspClient  # noqa: E402

SPEC = """\
experiment demo {
  seed 1
}

corpus texts {
  read "texts.jsonl"
}

goals {
  formality = heylighen_dewaele normalize 0..100
  length    = token_count normalize 1..500
}

probe small from texts {
  sources 4
  requests 2 per source
  active 1
}

model tiny {
  local "smollm2"
  batch off
}

intervention plain {
  prompt direct
  sample 2
}

evaluate {
  probe small
  models tiny
  interventions plain
}
"""


def line_of(text: str, needle: str) -> int:
    return next(i for i, line in enumerate(text.split("\n")) if needle in line)


def at(text: str, needle: str, delta: int = 0) -> tuple[int, int]:
    """(line, character) of `needle` in `text`, moved `delta` characters into it."""
    n = line_of(text, needle)
    return n, text.split("\n")[n].index(needle) + delta


@pytest.fixture(scope="module")
def folder(tmp_path_factory) -> Path:
    d = tmp_path_factory.mktemp("lsp")
    (d / "texts.jsonl").write_text('{"text": "a b c"}\n', encoding="utf-8")
    return d


@pytest.fixture(scope="module")
def client(folder):
    c = LspClient(cwd=folder)
    c.initialize(folder)
    yield c
    assert c.close() == 0


def opened(client: LspClient, folder: Path, name: str, text: str = SPEC) -> Path:
    path = folder / name
    client.open(path, text)
    return path


def labels(items) -> set[str]:
    return {i["label"] for i in (items["items"] if isinstance(items, dict) else items)}


def test_initialize_announces_the_features(folder):
    c = LspClient(cwd=folder)
    try:
        caps = c.initialize(folder)["capabilities"]
        assert caps["completionProvider"] and caps["hoverProvider"]
        assert caps["definitionProvider"] and caps["documentFormattingProvider"]
    finally:
        assert c.close() == 0


def test_a_valid_spec_has_no_diagnostics(client, folder):
    assert client.open(folder / "valid.steer", SPEC)["diagnostics"] == []


def test_diagnostics_are_the_checkers_messages_and_places(client, folder):
    path = folder / "errors.steer"
    assert client.open(path, SPEC)["diagnostics"] == []
    bad = (SPEC.replace("seed 1\n", "seed 1.5\n").replace("models tiny", "models tiy")
           .replace('read "texts.jsonl"', 'read "missing.jsonl"'))
    got = client.change(path, bad, 2)
    assert got["version"] == 2
    assert [(d["message"], d["range"], d["severity"]) for d in got["diagnostics"]] == [
        ("'seed' takes a whole number, got 1.5",
         {"start": {"line": 1, "character": 7}, "end": {"line": 1, "character": 10}}, 1),
        (f"file not found: missing.jsonl (looked at {folder / 'missing.jsonl'})",
         {"start": {"line": 5, "character": 7}, "end": {"line": 5, "character": 22}}, 1),
        ("unknown model 'tiy' (defined: tiny); did you mean 'tiny'?",
         {"start": {"line": 31, "character": 9}, "end": {"line": 31, "character": 12}}, 1),
    ]
    # the same as `steerdsl check` of the same text in the same folder
    path.write_text(bad, encoding="utf-8")
    with pytest.raises(SpecError) as e:
        from steerdsl.lang import load_tree

        load_tree(path)
    assert [d.text for d in e.value.diagnostics] == [d["message"] for d in got["diagnostics"]]
    assert [(d.span.line - 1, d.span.col - 1) for d in e.value.diagnostics] == \
        [(d["range"]["start"]["line"], d["range"]["start"]["character"])
         for d in got["diagnostics"]]
    # fixed again: the diagnostics go away
    assert client.change(path, SPEC, 3)["diagnostics"] == []


def test_incremental_changes(client, folder):
    path = opened(client, folder, "incremental.steer")
    n, col = at(SPEC, "heylighen_dewaele")
    got = client.edit(path, (n, col), (n, col + len("heylighen")), "heylihgen", 2)
    assert [(d["message"], d["range"]["start"]) for d in got["diagnostics"]] == [
        ("unknown measure 'heylihgen_dewaele'; did you mean 'heylighen_dewaele'?",
         {"line": n, "character": col})]
    got = client.edit(path, (n, col), (n, col + len("heylihgen")), "heylighen", 3)
    assert got["diagnostics"] == []


def test_exit_without_shutdown_is_exit_code_1(folder):
    c = LspClient(cwd=folder)
    c.initialize(folder)
    c.notify("exit")
    assert c.proc.wait(timeout=30) == 1
    c.close()


def test_syntax_errors_and_warnings(client, folder):
    text = SPEC.replace("sources 4", "sources 4 {")
    got = client.open(folder / "syntax.steer", text)["diagnostics"]
    assert got[0]["message"].startswith("unexpected '{'")
    assert got[0]["range"]["start"] == {"line": line_of(text, "sources 4 {"), "character": 12}
    warned = SPEC.replace("seed 1\n", "seed 1\n  budget 5\n").replace(
        'local "smollm2"', 'litellm "nobody/unknown-model"')
    got = client.open(folder / "warning.steer", warned)["diagnostics"]
    assert [d["severity"] for d in got] == [2]
    assert got[0]["message"].startswith("model 'tiny' has no known price")


def test_columns_are_utf16_code_units(client, folder):
    # an emoji is one code point, two UTF-16 code units: the error after it moves by two
    text = SPEC.replace("  seed 1\n", '  store "😀.duckdb" seed 1.5\n')
    got = client.open(folder / "emoji.steer", text)["diagnostics"]
    assert got[0]["range"]["start"] == {"line": 1, "character": len('  store "😀.duckdb" seed ')
                                        + 1}


def test_completion_of_block_kinds_between_blocks(client, folder):
    text = SPEC + "\n\n"
    path = opened(client, folder, "blocks.steer", text)
    got = client.at("textDocument/completion", path, line_of(text, "interventions plain") + 3, 0)
    assert labels(got) == set(BLOCK_KEYWORDS)


def test_completion_of_a_blocks_settings(client, folder):
    text = SPEC.replace('  local "smollm2"\n', '  local "smollm2"\n  te\n')
    path = opened(client, folder, "settings.steer", text)
    got = client.at("textDocument/completion", path, *at(text, "  te", 4))
    found = labels(got)
    assert {"temperature", "litellm", "deployment", "rpm", "batch", "price"} <= found
    assert not {"seed", "sources", "steps"} & found
    temp = next(i for i in got["items"] if i["label"] == "temperature")
    assert temp["documentation"]["value"] == docs.SETTINGS["model"]["temperature"]


def test_completion_in_a_part_of_a_block(client, folder):
    text = SPEC.replace("  sample 2\n", "  sample 2\n  lora r 16 \n")
    path = opened(client, folder, "part.steer", text)
    items = client.at("textDocument/completion", path, *at(text, "r 16 ", 5))["items"]
    by = {i["label"]: i for i in items}
    assert {"alpha", "dropout", "steps", "reward"} <= set(by)
    assert by["alpha"]["documentation"]["value"] == docs.SETTINGS["lora"]["alpha"]
    assert by["batch"]["documentation"]["value"] == docs.SETTINGS["intervention"]["batch"]


def test_completion_in_a_deployment_and_of_local_models(client, folder):
    text = SPEC.replace('  batch off\n', '  batch off\n  deployment {\n    \n  }\n')
    path = opened(client, folder, "deployment.steer", text)
    got = client.at("textDocument/completion", path, line_of(text, "deployment {") + 1, 4)
    assert labels(got) == {"api_base", "api_key", "rpm", "tpm"}
    text = SPEC.replace('  local "smollm2"\n', "  local \n")
    path = opened(client, folder, "local.steer", text)
    got = client.at("textDocument/completion", path, *at(text, "local ", 6))
    assert labels(got) == {'"smollm2"'}


@pytest.mark.parametrize("before, after, expected", [
    ("  models tiny\n", "  models tiny, \n", {"tiny"}),
    ("  prompt direct\n", "  prompt \n", {"direct", "underspecified", "cot"}),
    ("probe small from texts", "probe small from ", {"texts", "csv"}),
    ("  probe small\n", "  probe \n", {"small"}),
    ("  interventions plain\n", "  interventions \n", {"plain"}),
    ("normalize 1..500", "normalize quantile 2%..98% of ", {"texts"}),
    ("  sample 2\n", "  reward \n", {"error", "miscalibration", "orthogonality",
                                      "steering_error"}),
])
def test_completion_of_names_where_a_name_is_expected(client, folder, before, after, expected):
    text = SPEC.replace(before, after)
    path = opened(client, folder, f"names{abs(hash(after))}.steer", text)
    got = client.at("textDocument/completion", path, *at(text, after.rstrip("\n"),
                                                          len(after.rstrip("\n"))))
    assert labels(got) == expected


def test_completion_after_a_syntax_error_offers_the_blocks_settings(client, folder):
    text = SPEC.replace("  seed 1\n", "  seed 1 seed seed\n  \n")
    path = opened(client, folder, "after_error.steer", text)
    got = client.at("textDocument/completion", path, 2, 2)
    assert labels(got) == set(docs.SETTINGS["experiment"])


def test_completion_of_measures_and_values(client, folder):
    text = SPEC.replace("  length    = token_count normalize 1..500\n", "  length = \n")
    path = opened(client, folder, "measures.steer", text)
    got = labels(client.at("textDocument/completion", path, *at(text, "length = ", 9)))
    assert set(catalog.MEASURES) | {"python", "judge"} <= got
    text = SPEC.replace("  prompt direct\n", "  prompt direct\n  select \n")
    path = opened(client, folder, "values.steer", text)
    got = labels(client.at("textDocument/completion", path, *at(text, "select ", 7)))
    assert got == {"nearest", "first"}


def test_hover_shows_settings_measures_and_blocks(client, folder):
    path = opened(client, folder, "hover.steer")

    def hover(needle: str, delta: int = 1) -> str | None:
        got = client.at("textDocument/hover", path, *at(SPEC, needle, delta))
        return got["contents"]["value"] if got else None

    assert hover("seed") == docs.SETTINGS["experiment"]["seed"]
    assert hover("batch off") == docs.SETTINGS["model"]["batch"]
    assert hover("sample 2") == docs.SETTINGS["intervention"]["sample"]
    assert hover("off", 1) == docs.SETTINGS["model"]["batch"]  # a value: its setting's
    assert hover("per source", 5) == docs.SETTINGS["probe"]["requests"]
    assert catalog.MEASURES["heylighen_dewaele"].description in hover("heylighen_dewaele")
    assert hover("prompt direct", 8) == docs.BUILTIN_PROMPTS["direct"]
    assert hover("model tiny") == docs.BLOCKS["model"]
    assert "local \"smollm2\"" not in (hover("models tiny", 8) or "")  # the header line
    assert hover("models tiny", 8).startswith("(model) **tiny**, line 20")
    assert hover('"texts.jsonl"', 3) is None  # inside a string
    csv = SPEC.replace("probe small from texts {",
                       'probe other from csv "p.csv"\nprobe small from texts {')
    csv_path = opened(client, folder, "hovercsv.steer", csv)
    got = client.at("textDocument/hover", csv_path, *at(csv, "csv", 1))
    assert got["contents"]["value"] == docs.SETTINGS["probe"]["csv"]
    got = client.at("textDocument/hover", path, *at(SPEC, "seed", 1))
    assert got["range"] == {"start": {"line": 1, "character": 2},
                            "end": {"line": 1, "character": 6}}


@pytest.mark.parametrize("line, name, target", [
    ("  models tiny", "tiny", "model tiny {"),
    ("  probe small", "small", "probe small from"),
    ("  interventions plain", "plain", "intervention plain {"),
    ("probe small from texts", "texts", "corpus texts {"),
])
def test_definition_of_names_that_refer_to_blocks(client, folder, line, name, target):
    path = opened(client, folder, "definition.steer")
    n = line_of(SPEC, line)
    got = client.at("textDocument/definition", path, n, SPEC.split("\n")[n].rindex(name) + 1)
    d = line_of(SPEC, target)
    start = target.index(name)
    assert got == {"uri": path.as_uri(), "range": {
        "start": {"line": d, "character": start},
        "end": {"line": d, "character": start + len(name)}}}


def test_no_definition_for_keywords_and_built_ins(client, folder):
    path = opened(client, folder, "nodefinition.steer")
    assert client.at("textDocument/definition", path, *at(SPEC, "seed", 1)) is None
    assert client.at("textDocument/definition", path, *at(SPEC, "prompt direct", 8)) is None


@pytest.mark.skipif(importlib.util.find_spec("steerdsl.lang.format") is None,
                    reason="steerdsl.lang.format (the formatter) is not in this tree")
def test_formatting_replaces_the_whole_document(client, folder):
    from steerdsl.lang.format import format_source

    messy = "experiment demo { seed 1 }\n" + SPEC.split("}\n", 1)[1].replace("  ", "    ")
    path = opened(client, folder, "format.steer", messy)
    options = {"options": {"tabSize": 2, "insertSpaces": True}}
    edits = client.request("textDocument/formatting",
                           {"textDocument": {"uri": path.as_uri()}, **options})
    assert edits == [{"range": {"start": {"line": 0, "character": 0},
                                "end": {"line": len(messy.split("\n")) - 1, "character": 0}},
                      "newText": format_source(messy)}]
    path = opened(client, folder, "formatted.steer", format_source(messy))
    assert client.request("textDocument/formatting",
                          {"textDocument": {"uri": path.as_uri()}, **options}) is None
    path = opened(client, folder, "broken.steer", "model m { temperature }\n")
    assert client.request("textDocument/formatting",
                          {"textDocument": {"uri": path.as_uri()}, **options}) is None


def test_without_pygls_the_command_says_how_to_install_it(monkeypatch, capsys):
    from steerdsl import cli

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name, *a: None if name == "pygls" else real(name, *a))
    assert cli.main(["lsp"]) == 2
    assert "pip install 'steerdsl[lsp]'" in capsys.readouterr().err


@pytest.mark.parametrize("spec", ["tests/golden/errors/syntax.steer",
                                  "tests/golden/errors/semantic.steer",
                                  "editors/vscode/test/fuzz/one_line.steer"])
def test_every_position_of_a_spec_answers(spec):
    """In process: completion, hover and definition at every few characters of specs with
    errors (and of one written on one line) answer without an exception."""
    from steerdsl.lsp.completion import completions
    from steerdsl.lsp.definition import find_definition
    from steerdsl.lsp.document import Document
    from steerdsl.lsp.hover import hover

    path = Path(__file__).resolve().parent.parent / spec
    doc = Document(path.read_text(encoding="utf-8"), str(path))
    for offset in range(0, len(doc.text) + 1, 5):
        completions(doc, offset)
        hover(doc, offset)
        find_definition(doc, offset)
