"""The shape of the code: data flows one way between steerdsl's packages (no import cycle,
lazy imports included), the stage registry agrees with the plan's stage kinds, and only the
store runs SQL on the store's tables."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import steerdsl
from steerdsl.plan import keys

ROOT = Path(steerdsl.__file__).parent


def _unit(module: str) -> str:
    """The package (or top-level module) a module belongs to: steerdsl.store.db -> store."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else parts[0]


def _module_name(path: Path) -> str:
    parts = path.relative_to(ROOT.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def import_edges() -> dict[tuple[str, str], str]:
    """(importing unit, imported unit) -> where ("file:line"), for every import of steerdsl
    code by steerdsl code in another unit, at module level or inside functions."""
    edges: dict[tuple[str, str], str] = {}
    for path in sorted(ROOT.rglob("*.py")):
        module = _module_name(path)
        package = module if path.name == "__init__.py" else module.rpartition(".")[0]
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom):
                if node.level:
                    base = package.split(".")[:len(package.split(".")) - node.level + 1]
                    target = ".".join(base + ([node.module] if node.module else []))
                else:
                    target = node.module or ""
                targets = [target] + [f"{target}.{a.name}" for a in node.names]
            elif isinstance(node, ast.Import):
                targets = [a.name for a in node.names]
            else:
                continue
            for t in targets:
                if not t.startswith("steerdsl.") or _unit(t) not in _units():
                    continue
                edge = (_unit(module), _unit(t))
                if edge[0] != edge[1] and module != "steerdsl":
                    edges.setdefault(edge, f"{path.relative_to(ROOT.parent)}:{node.lineno}")
    return edges


def _units() -> set[str]:
    return {p.name for p in ROOT.iterdir() if (p / "__init__.py").is_file()} | \
        {p.stem for p in ROOT.glob("*.py") if p.stem != "__init__"}


def find_cycles(edges) -> list[list[str]]:
    """Strongly connected components of more than one unit (Tarjan)."""
    graph: dict[str, set[str]] = {}
    for a, b in edges:
        graph.setdefault(a, set()).add(b)
        graph.setdefault(b, set())
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    cycles = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        for w in sorted(graph[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                cycles.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return cycles


def test_no_import_cycle_between_packages():
    edges = import_edges()
    cycles = find_cycles(edges)
    shown = []
    for units in cycles:
        shown += [f"{a} -> {b} ({where})" for (a, b), where in sorted(edges.items())
                  if a in units and b in units]
    assert not cycles, "import cycles between steerdsl's packages:\n" + "\n".join(shown)


def test_the_cycle_finder_finds_cycles():
    assert find_cycles({("a", "b"): "", ("b", "c"): "", ("c", "a"): "", ("c", "d"): ""}) \
        == [["a", "b", "c"]]
    assert find_cycles({("a", "b"): "", ("b", "c"): ""}) == []


def test_the_front_end_imports_no_runtime():
    runtime = {"stages", "run", "store", "llm", "goals", "probe", "corpus", "report",
               "reference", "commands"}
    front = {"lang", "plan"}
    bad = [f"{a} -> {b} ({w})" for (a, b), w in import_edges().items()
           if a in front and b in runtime]
    assert not bad, bad


def test_stage_registry_follows_the_plans_stage_kinds():
    from steerdsl.stages import STAGES

    assert tuple(s.KIND for s in STAGES) == keys.STAGE_KINDS
    for position, stage in enumerate(STAGES):
        earlier = {s.KIND for s in STAGES[:position]}
        assert set(stage.NEEDS) <= earlier, f"{stage.KIND} needs a later kind: {stage.NEEDS}"
        assert callable(stage.run) and isinstance(stage.CURRENT, bool)
    key_kinds = {k.model_fields["kind"].default for k in
                 (keys.CorpusKey, keys.MeasureKey, keys.SpaceKey, keys.ProbeKey, keys.TrainKey,
                  keys.CalibrateKey, keys.GenerateKey, keys.ScoreKey, keys.JudgeKey)}
    assert key_kinds == set(keys.STAGE_KINDS)


def test_stage_ids_derive_from_keys():
    gen = keys.GenerateKey(model="llama", intervention="direct", probe="bench")
    assert (gen.id, gen.score.id, gen.score.generate) == (
        "generate:llama/direct", "score:llama/direct", gen)
    assert keys.CorpusKey(corpus="seeds").id == "corpus:seeds"
    assert keys.SpaceKey().id == "space"


# Files that may run SQL outside steerdsl/store: DuckDB's readers over corpus files (not the
# store), the report and the Python API's query over the documented views.
SQL_ALLOWED = {"store", "report", "corpus/read.py", "api.py"}
_SQL_CALL = re.compile(r"\.(execute|executemany|sql)\(")


def test_only_the_store_runs_sql_on_its_tables():
    offenders = []
    for path in sorted(ROOT.rglob("*.py")):
        rel = path.relative_to(ROOT).as_posix()
        if rel.split("/")[0] in SQL_ALLOWED or rel in SQL_ALLOWED:
            continue
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if _SQL_CALL.search(line):
                offenders.append(f"steerdsl/{rel}:{number}: {line.strip()}")
    assert not offenders, "SQL outside steerdsl/store:\n" + "\n".join(offenders)
