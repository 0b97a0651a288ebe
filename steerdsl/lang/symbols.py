"""Names a spec defines, by kind: the checker resolves references with them and the plan
builder reads definitions from them. The first definition of a name wins (a second one is a
"duplicate" error)."""

from __future__ import annotations

from dataclasses import dataclass, field

from steerdsl import catalog
from steerdsl.lang import syntax


@dataclass
class Symbols:
    spec: syntax.SpecTree
    experiment: syntax.Experiment | None = None
    goals_block: syntax.Goals | None = None
    evaluate: syntax.Evaluate | None = None
    corpora: dict[str, syntax.Corpus] = field(default_factory=dict)
    goals: dict[str, syntax.Goal] = field(default_factory=dict)  # in spec order
    probes: dict[str, syntax.Probe | syntax.CsvProbe] = field(default_factory=dict)
    models: dict[str, syntax.Model] = field(default_factory=dict)
    prompts: dict[str, syntax.Prompt] = field(default_factory=dict)
    interventions: dict[str, syntax.Intervention] = field(default_factory=dict)
    judges: dict[str, syntax.Judge] = field(default_factory=dict)
    failed: dict[str, set[str | None]] = field(default_factory=dict)  # kind -> names

    @classmethod
    def of(cls, spec: syntax.SpecTree) -> "Symbols":
        s = cls(spec)
        for b in spec.blocks:
            if isinstance(b, syntax.Experiment):
                s.experiment = s.experiment or b
            elif isinstance(b, syntax.Goals):
                if s.goals_block is None:
                    s.goals_block = b
                    for g in b.goals:
                        s.goals.setdefault(g.name.value, g)
            elif isinstance(b, syntax.Evaluate):
                s.evaluate = s.evaluate or b
            else:
                table = s.table(b)
                table.setdefault(b.name.value, b)
        for f in spec.failed:
            s.failed.setdefault(f.kind, set()).add(f.name)
        return s

    def table(self, block) -> dict:
        if isinstance(block, syntax.Corpus):
            return self.corpora
        if isinstance(block, (syntax.Probe, syntax.CsvProbe)):
            return self.probes
        if isinstance(block, syntax.Model):
            return self.models
        if isinstance(block, syntax.Prompt):
            return self.prompts
        if isinstance(block, syntax.Judge):
            return self.judges
        return self.interventions

    def is_failed(self, kind: str, name: str | None = None) -> bool:
        """A block of this kind (and name) did not parse: references to it are not errors.
        A failed block whose name could not be read excuses every name of its kind."""
        names = self.failed.get(kind)
        if not names:
            return False
        return name is None or name in names or None in names

    # derived facts shared by the checker and the plan builder

    def prompt_names(self) -> list[str]:
        return [*catalog.BUILTIN_PROMPTS, *self.prompts]

    def prompt_chain(self, name: str) -> list[syntax.Prompt] | None:
        """The custom prompts from `name` up to its built-in base, nearest first; None when
        the chain has a cycle or an undefined link."""
        chain: list[syntax.Prompt] = []
        while name not in catalog.BUILTIN_PROMPTS:
            p = self.prompts.get(name)
            if p is None or p in chain:
                return None
            chain.append(p)
            name = p.base.value if p.base else "direct"
        return chain

    def prompt_base(self, name: str) -> str | None:
        chain = self.prompt_chain(name)
        if chain is None:
            return None
        if not chain:
            return name
        last = chain[-1]
        return last.base.value if last.base else "direct"

    def probe_goal_names(self, probe: syntax.Probe | syntax.CsvProbe) -> list[str]:
        """Goals a probe may move, in goal order: its `goals` list, default all goals."""
        if isinstance(probe, syntax.Probe):
            listed = [i for i in probe.items if isinstance(i, syntax.ProbeGoals)]
            if listed:
                wanted = {n.value for n in listed[0].names}
                return [g for g in self.goals if g in wanted]
        return list(self.goals)

    def measure_name(self, goal: syntax.Goal) -> str | None:
        """The built-in measure of a goal that is just `= measure`, else None."""
        m = goal.measure
        if isinstance(m, syntax.ExprMeasure) and isinstance(m.expr, syntax.MeasureRef):
            return m.expr.name.value
        return None

    def phrases(self, prompt: str) -> dict[str, tuple[str, str]]:
        """goal -> (up, down) for a prompt: its own and inherited phrases over the built-in
        ones (steerdsl.catalog.builtin_phrase)."""
        out: dict[str, tuple[str, str]] = {}
        for name, goal in self.goals.items():
            ph = catalog.builtin_phrase(name, self.measure_name(goal))
            if ph is not None:
                out[name] = ph
        for p in reversed(self.prompt_chain(prompt) or []):
            for item in p.items:
                if isinstance(item, syntax.PhraseDef):
                    out[item.goal.value] = (item.up.value, item.down.value)
        return out
