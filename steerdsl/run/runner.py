"""Executing a plan: its stages in order, each skipped when its hash is already done.

corpus:C -> measure:C -> space -> probe:P -> generate:M/I -> score:M/I

Every stage writes to the store before it is marked done, and every stage is idempotent, so a
run killed at any moment continues where it stopped when started again. Generation is the only
stage with partial progress worth keeping (paid calls): it resumes request by request.
"""

from __future__ import annotations

import json
import os
import time
import uuid
from dataclasses import dataclass, field

import numpy as np

from steerdsl.errors import RunError
from steerdsl.plan.model import CsvProbePlan, Plan, SampledProbePlan, Stage
from steerdsl.run.progress import Display
from steerdsl.words import count

STAGE_ORDER = ("corpus", "measure", "space", "probe", "generate", "score")


@dataclass
class RunResult:
    run_id: str
    # 'ok' (everything asked was done), 'incomplete' (some calls failed, or answers were left
    # without scores), 'failed' (a model was given up as unreachable), 'budget'; runs.status
    # also has 'interrupted', and 'failed' for a run that ended with an error.
    status: str
    stages_run: list[str] = field(default_factory=list)
    stages_skipped: list[str] = field(default_factory=list)  # already done
    stages_not_run: list[str] = field(default_factory=list)  # generate stages of a model
    # found unreachable
    failed_calls: int = 0
    unreachable: dict[str, str] = field(default_factory=dict)  # model -> what failed
    failed_measurements: int = 0  # values of answers this run's score stages could not measure
    unscored: int = 0  # answers of the current generations without scores: run 'incomplete'
    summary: str = ""
    budget_message: str = ""  # why the budget stopped the run; the CLI prints it once


class Runner:
    def __init__(self, plan: Plan, *, until: str | None = None, retry_errors: bool = False,
                 display: Display | None = None):
        if until is not None and until not in STAGE_ORDER:
            raise RunError(f"--until takes one of {', '.join(STAGE_ORDER)}; not {until!r}")
        self.plan = plan
        self.until = until
        self.retry_errors = retry_errors
        self.display = display or Display(quiet=True)
        self.con = None
        self.result = RunResult(run_id=uuid.uuid4().hex[:12], status="ok")
        # in-memory state handed from stage to stage within one process
        self._corpus: dict[str, list] = {}  # corpus name -> [(text_id, text, label, text_hash)]
        self._raw: dict[str, dict[str, np.ndarray]] = {}  # corpus -> goal -> raw values
        self._bounds: dict[str, tuple[float, float]] = {}

    # --- bookkeeping ----------------------------------------------------------------------

    def _done(self, stage: Stage) -> bool:
        row = self.con.execute("SELECT 1 FROM stages_done WHERE stage_hash = ?",
                               [stage.hash]).fetchone()
        return row is not None

    def _mark_done(self, stage: Stage, info: dict | None = None) -> None:
        self.con.execute(
            "INSERT OR REPLACE INTO stages_done VALUES (?, ?, now(), ?)",
            [stage.hash, stage.id, json.dumps(info or {})],
        )

    def _set_current(self, stage: Stage) -> None:
        self.con.execute("INSERT OR REPLACE INTO current VALUES (?, ?)", [stage.id, stage.hash])

    def _wanted(self, kind: str) -> bool:
        return self.until is None or STAGE_ORDER.index(kind) <= STAGE_ORDER.index(self.until)

    # --- the run --------------------------------------------------------------------------

    def run(self) -> RunResult:
        from steerdsl.store.db import open_store

        self.con = open_store(self.plan.experiment.store)
        try:
            self._start_run()
            self._warn_unpriced()
            status = "failed"
            try:
                self._check_keys()
                with self.display.session():
                    self._run_stages()
                status = self.result.status = self._outcome()
            except BudgetReached:
                status = self.result.status = "budget"
            except KeyboardInterrupt:
                status = "interrupted"
                raise
            finally:
                self._finish_run(status)
            self.result.summary = self._summary()
            return self.result
        finally:
            self.con.close()

    def _start_run(self) -> None:
        import socket

        from steerdsl import versions
        from steerdsl.store.owner import claim, spec_owner

        # Before anything is written: a store holding another spec's results is refused.
        claim(self.con, self.plan.experiment.store, spec_owner(self.plan))
        # `current` describes this spec as it is now: stages of removed or renamed
        # interventions, models and probes drop out of the views (their rows stay stored).
        ids = [s.id for s in self.plan.stages]
        self.con.execute("DELETE FROM current WHERE NOT list_contains(?, stage)", [ids])

        self.con.execute(
            "INSERT INTO runs (run_id, plan_hash, spec_path, plan, versions, started_at, "
            "finished_at, status, pid, host) VALUES (?, ?, ?, ?, ?, now(), NULL, 'running', ?, ?)",
            [self.result.run_id, self.plan.spec_hash, self.plan.spec_path,
             self.plan.model_dump_json(), json.dumps(versions.runtime_versions()),
             os.getpid(), socket.gethostname()],
        )

    def _finish_run(self, status: str) -> None:
        try:
            self.con.execute("UPDATE runs SET finished_at = now(), status = ? WHERE run_id = ?",
                             [status, self.result.run_id])
        except Exception:  # the connection may be gone after a fatal error; the row stays 'running'
            pass

    def _check_keys(self) -> None:
        """The API keys of the models still to generate, before anything runs: a variable
        that is unset or malformed is a RunError now, not after other stages spent money."""
        from steerdsl.stages.generate import api_key_for

        if not self._wanted("generate"):
            return
        for stage in self.plan.stages:
            if stage.kind == "generate" and (self.retry_errors or not self._done(stage)):
                api_key_for(self.plan.model(stage.model_and_intervention[0]))

    def _outcome(self) -> str:
        """A run that leaves any answer unasked, failed or without scores is not 'ok'."""
        if self.result.unreachable:
            return "failed"
        if self.result.failed_calls or self.result.unscored:
            return "incomplete"
        return self.result.status

    def _run_stages(self) -> None:
        by_kind = {k: [s for s in self.plan.stages if s.kind == k] for k in STAGE_ORDER}
        handlers = {
            "corpus": self._stage_corpus, "measure": self._stage_measure,
            "space": self._stage_space, "probe": self._stage_probe,
            "generate": self._stage_generate, "score": self._stage_score,
        }
        for kind in STAGE_ORDER:
            if not self._wanted(kind):
                break
            for stage in by_kind[kind]:
                handlers[kind](stage)
        if self._wanted("score") and by_kind["score"]:
            self._count_unscored()

    def _count_unscored(self) -> None:
        """Answers without scores, whatever the cause (they make the run incomplete)."""
        from steerdsl.store.summary import unscored_answers

        self.result.unscored = unscored_answers(self.con)

    # --- corpus and goal space -------------------------------------------------------------

    def _corpus_rows(self, name: str) -> list:
        if name not in self._corpus:
            stage = self.plan.stage(f"corpus:{name}")
            self._stage_corpus(stage)
        return self._corpus[name]

    def _stage_corpus(self, stage: Stage) -> None:
        name = stage.subject
        if name in self._corpus:
            return
        if self._done(stage):
            rows = self.con.execute(
                "SELECT c.text_id, t.text, c.label, c.text_hash FROM corpus_texts c "
                "JOIN texts t USING (text_hash) WHERE c.corpus_hash = ? ORDER BY c.position",
                [stage.hash],
            ).fetchall()
            self._corpus[name] = rows
            self.result.stages_skipped.append(stage.id)
            return
        from steerdsl.corpus.read import read_corpus
        from steerdsl.store.bulk import insert_rows
        from steerdsl.texts import text_hash

        bar = self.display.stage(f"read {name}", 1)
        texts = read_corpus(self.plan.corpus(name))
        rows = [(t.text_id, t.text, t.label, text_hash(t.text)) for t in texts]
        insert_rows(self.con, "texts", ["text_hash", "text"],
                    {h: txt for _, txt, _, h in rows}.items(), on_conflict="ignore")
        self.con.execute("DELETE FROM corpus_texts WHERE corpus_hash = ?", [stage.hash])
        insert_rows(self.con, "corpus_texts",
                    ["corpus_hash", "position", "text_id", "label", "text_hash"],
                    [(stage.hash, i, tid, label, h) for i, (tid, _, label, h) in enumerate(rows)])
        self._mark_done(stage, {"texts": len(rows)})
        bar.update(1, 1)
        self._corpus[name] = rows
        self.result.stages_run.append(stage.id)

    def _corpus_raw(self, name: str) -> dict[str, np.ndarray]:
        if name not in self._raw:
            self._stage_measure(self.plan.stage(f"measure:{name}"))
        return self._raw[name]

    def _stage_measure(self, stage: Stage) -> None:
        name = stage.subject
        if name in self._raw:
            return
        from steerdsl.goals.measure import measure_texts

        rows = self._corpus_rows(name)
        already = self._done(stage)
        bar = self.display.stage(f"measure {name}", len(rows) * len(self.plan.goals))
        # Through the cache: when the stage is done this only reads the store.
        measured = measure_texts([r[1] for r in rows], self.plan.goals, con=self.con,
                                 progress=bar, ids=[r[0] for r in rows], **self._measure_kw())
        self._raw[name] = measured.raw
        if measured.errors:
            bar.error(len(measured.errors))
            if not already or self.retry_errors:
                self._say_measure_errors(f"measure {name}", measured)
        if already:
            self.result.stages_skipped.append(stage.id)
        else:
            self._mark_done(stage, {"texts": len(rows), "errors": len(measured.errors)})
            self.result.stages_run.append(stage.id)

    def _say_measure_errors(self, what: str, measured) -> None:
        for _, text_id, goal, message in measured.errors[:5]:
            self.display.say(f"  {what}: {text_id}: {goal}: {message}")
        if len(measured.errors) > 5:
            self.display.say(f"  ... and {len(measured.errors) - 5} more measurement errors "
                             "(see the measurements table)")
        if measured.retryable:
            self.display.say(f"  {what}: `steerdsl run SPEC --retry-errors` measures the "
                             f"{measured.retryable} failed Python or judge values again")

    def _measure_kw(self) -> dict:
        """What measuring needs beyond texts: where `python "mod:fn"` goals are imported from
        (the spec's folder), the LLM judge for `judge` goals, and whether stored failures of
        those goals are measured again."""
        from pathlib import Path

        return {"base_dir": Path(self.plan.spec_path).parent, "judge": self._judge(),
                "retry_errors": self.retry_errors}

    def _judge(self):
        if not any(g.measure.kind == "judge" for g in self.plan.goals):
            return None
        from steerdsl.goals.judge import make_judge

        return make_judge(self.plan)

    def _stage_space(self, stage: Stage) -> None:
        from steerdsl.goals.normalize import resolve_bounds
        from steerdsl.plan.model import QuantileNorm
        from steerdsl.store.bulk import insert_rows

        if self._done(stage):
            for goal, lo, hi in self.con.execute(
                "SELECT goal, lo, hi FROM goal_space WHERE space_hash = ?", [stage.hash]
            ).fetchall():
                self._bounds[goal] = (lo, hi)
            self.result.stages_skipped.append(stage.id)
            return
        rows = []
        for i, goal in enumerate(self.plan.goals):
            corpus_raw = None
            if isinstance(goal.normalize, QuantileNorm):
                corpus_raw = self._corpus_raw(goal.normalize.corpus)[goal.name]
            lo, hi = resolve_bounds(goal, corpus_raw)
            self._bounds[goal.name] = (lo, hi)
            rows.append((stage.hash, i, goal.name, goal.measure_id, lo, hi))
        self.con.execute("DELETE FROM goal_space WHERE space_hash = ?", [stage.hash])
        insert_rows(self.con, "goal_space",
                    ["space_hash", "position", "goal", "measure_id", "lo", "hi"], rows)
        self._set_current(stage)
        self._mark_done(stage)
        self.result.stages_run.append(stage.id)

    def _normalized(self, raw: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        from steerdsl.goals.normalize import normalize

        return {g.name: normalize(raw[g.name], *self._bounds[g.name]) for g in self.plan.goals}

    # --- probe ------------------------------------------------------------------------------

    def _stage_probe(self, stage: Stage) -> None:
        name = stage.subject
        if self._done(stage):
            self._set_current(stage)
            self.result.stages_skipped.append(stage.id)
            return
        from steerdsl.store import probes as probe_store

        probe = self.plan.probe(name)
        space_hash = self.plan.stage("space").hash
        goals = [g.name for g in self.plan.goals]
        bar = self.display.stage(f"probe {name}", 1)
        if isinstance(probe, SampledProbePlan):
            from steerdsl.probe.draw import draw_probe

            rows = self._corpus_rows(probe.corpus)
            raw = self._corpus_raw(probe.corpus)
            norm = self._normalized(raw)
            sources = np.column_stack([norm[g] for g in probe.goals])
            # Rows carry every goal of the space and are scored on all of them: a text missing
            # any goal's value is never drawn, whether the probe moves that goal or not.
            missing = {g: np.isnan(raw[g]) for g in goals}
            unmeasured = np.column_stack(list(missing.values())).any(axis=1)
            if unmeasured.any():
                by_goal = ", ".join(f"{g}: {int(m.sum())}" for g, m in missing.items() if m.any())
                self.display.say(f"  probe {name}: {int(unmeasured.sum())} of {len(rows)} texts "
                                 f"of corpus {probe.corpus} left out: a goal's value could not "
                                 f"be measured ({by_goal}; see the measurements table)")
            drawn = draw_probe(probe, sources, unmeasured=unmeasured)
            probe_store.save_drawn_probe(
                self.con, stage.hash, probe, space_hash, drawn,
                texts=[(r[0], r[1]) for r in rows],
                raw={g: raw[g] for g in goals}, normalized={g: norm[g] for g in goals},
            )
            info = {"rows": int(len(drawn.source_index)), "auc": drawn.auc,
                    "unmeasured": int(unmeasured.sum())}
            if drawn.auc is not None:
                self.display.say(f"  probe {name}: density-ratio classifier AUC "
                                 f"{drawn.auc:.3f} (0.5 = corpus already uniform)")
        else:
            assert isinstance(probe, CsvProbePlan)
            from steerdsl.reference.layout import read_reference_csv

            imported = read_reference_csv(probe.path, goals)
            probe_store.save_imported_probe(self.con, stage.hash, probe.name, space_hash,
                                            imported)
            info = {"rows": imported.n_rows}
        bar.update(1, 1)
        self._set_current(stage)
        self._mark_done(stage, info)
        self.result.stages_run.append(stage.id)

    # --- generate and score -----------------------------------------------------------------

    def _gen_rows(self, probe_name: str):
        from steerdsl.stages.generate import GenRow

        probe_hash = self.plan.stage(f"probe:{probe_name}").hash
        rows = self.con.execute(
            "SELECT r.row_id, t.text FROM probe_rows r JOIN texts t USING (text_hash) "
            "WHERE r.probe_hash = ? ORDER BY r.row_id", [probe_hash]).fetchall()
        deltas: dict[int, dict[str, float | None]] = {r[0]: {} for r in rows}
        for row_id, goal, delta in self.con.execute(
            "SELECT row_id, goal, delta FROM probe_goals WHERE probe_hash = ?", [probe_hash]
        ).fetchall():
            deltas[row_id][goal] = delta
        return [GenRow(row_id=row_id, text=text, deltas=deltas[row_id]) for row_id, text in rows]

    def _model_given_up(self, stage: Stage) -> bool:
        """A generate stage of a model found unreachable earlier in this run is not run (its
        score stages are: they score the answers stored, without a request to it)."""
        model, _ = stage.model_and_intervention
        if model not in self.result.unreachable:
            return False
        self.result.stages_not_run.append(stage.id)
        return True

    def _stage_generate(self, stage: Stage) -> None:
        from steerdsl.stages.generate_failures import describe_failures, describe_timeouts
        from steerdsl.stages.generate import BudgetExceeded, run_generate

        if self._done(stage) and not self.retry_errors:
            self._set_current(stage)
            self.result.stages_skipped.append(stage.id)
            return
        model_name, intervention = stage.model_and_intervention
        self._set_current(stage)
        if self._model_given_up(stage):
            return
        rows = self._gen_rows(self.plan.evaluate.probe)
        samples = self.plan.intervention(intervention).samples
        bar = self.display.stage(f"generate {model_name}/{intervention}", len(rows) * samples)
        try:
            stats = run_generate(self.con, self.plan, stage, rows, progress=bar,
                                 retry_errors=self.retry_errors, budget=self._budget())
        except BudgetExceeded as e:
            self.result.budget_message = str(e)
            raise BudgetReached() from None
        model = self.plan.model(model_name)
        slow = describe_timeouts(model, stats.timeouts, stats.requests, stats.concurrency)
        if slow:
            self.display.warn(f"  {stage.id}: {slow}")
        failed, failures = describe_failures(self.con, stage.hash, stage.id, stats.total)
        if failures:
            self.display.warn(failures)
        self.result.failed_calls += failed
        if stats.unreachable:
            self.result.unreachable[model_name] = stats.unreachable
            self.display.warn(stats.unreachable)
        elif not stats.failed:
            self._mark_done(stage, {"requests": stats.ok})
        self.result.stages_run.append(stage.id)

    def _budget(self):
        from steerdsl.stages.generate import Budget

        limit = self.plan.experiment.budget_usd
        if limit is None:
            return None
        spent = self.con.execute(
            "SELECT coalesce(sum(cost), 0) FROM calls WHERE gen_hash IN "
            "(SELECT stage_hash FROM current WHERE stage LIKE 'generate:%')").fetchone()[0]
        return Budget(limit_usd=limit, spent_usd=float(spent))

    def _warn_unpriced(self) -> None:
        """A budget counts only calls with a known price: name the models without one."""
        from steerdsl.llm.budget import usd
        from steerdsl.prices import price_known

        limit = self.plan.experiment.budget_usd
        if limit is None or self.plan.evaluate is None or not self._wanted("generate"):
            return
        for name in self.plan.evaluate.models:
            m = self.plan.model(name)
            if not price_known(m.provider, m.model, m.price is not None):
                self.display.warn(f"budget {usd(limit)}: model {name} has no known price; its "
                                  "calls count as $0. Declare `price in X out Y` (US dollars "
                                  "per million input and output tokens) in its model block")

    def _stage_score(self, stage: Stage) -> None:
        """Measure the answers and write their per-goal values. Idempotent: scores the ok
        answers that have no outputs yet (so it also completes a stage cut short) or a failed
        value (read again from the measurement cache, so they are reported on every run, and
        measured again with --retry-errors). Done only when every answer has all its values."""
        from steerdsl.goals.measure import measure_texts
        from steerdsl.goals.normalize import normalize
        from steerdsl.store.bulk import insert_rows

        gen_id = "generate:" + stage.subject
        gen_hash = self.plan.stage(gen_id).hash
        if not self._bounds:
            self._stage_space(self.plan.stage("space"))
        drop = self._record_scoring(stage, gen_hash) == "drop"
        todo = self.con.execute(
            "SELECT c.row_id, c.sample, c.answer FROM calls c WHERE c.gen_hash = ? "
            "AND c.status = 'ok' AND coalesce((SELECT bool_or(o.raw IS NULL) FROM outputs o "
            "WHERE o.gen_hash = c.gen_hash AND o.row_id = c.row_id AND o.sample = c.sample), "
            "true) "
            # dropped answers are not measured (an LLM judge would charge for them)
            + ("AND NOT steer_truncated(c.finish_reason) " if drop else "")
            + "ORDER BY c.row_id, c.sample", [gen_hash]).fetchall()
        if not todo and self._done(stage):
            self.result.stages_skipped.append(stage.id)
            return
        label = f"score {stage.subject}"
        bar = self.display.stage(label, len(todo) * len(self.plan.goals))
        failed = 0
        if todo:
            measured = measure_texts(
                [t[2] for t in todo], self.plan.goals, con=self.con, progress=bar,
                ids=[f"{gen_id}:{t[0]}:{t[1]}" for t in todo], **self._measure_kw())
            out = []
            for g in self.plan.goals:
                raw = measured.raw[g.name]
                val = normalize(raw, *self._bounds[g.name])
                for (row_id, sample, _), r, v in zip(todo, raw, val):
                    out.append((gen_hash, row_id, sample, g.name, _none_if_nan(r),
                                _none_if_nan(v)))
            insert_rows(self.con, "outputs",
                        ["gen_hash", "row_id", "sample", "goal", "raw", "value"], out,
                        on_conflict="replace")
            failed = len(measured.errors)
            if failed:
                bar.error(failed)
                self._say_measure_errors(label, measured)
            self.result.failed_measurements += failed
        pending = self.con.execute(
            "SELECT count(*) FROM calls WHERE gen_hash = ? AND status <> 'ok'", [gen_hash]
        ).fetchone()[0]
        if not pending and not failed and self._done(self.plan.stage(gen_id)):
            self._mark_done(stage)
        elif failed:  # a stage marked done by an older version with failed values
            self.con.execute("DELETE FROM stages_done WHERE stage_hash = ?", [stage.hash])
        self.result.stages_run.append(stage.id)

    def _record_scoring(self, stage: Stage, gen_hash: str) -> str:
        """Tell the views how this spec scores the generation's truncated answers (every run:
        the setting may change back and forth without regenerating anything)."""
        from steerdsl.plan.model import truncated_policy

        model_name, iv_name = stage.model_and_intervention
        policy = truncated_policy(self.plan.model(model_name), self.plan.intervention(iv_name))
        self.con.execute("INSERT OR REPLACE INTO scorings VALUES (?, ?)", [gen_hash, policy])
        return policy

    def _summary(self) -> str:
        if self.until is not None and STAGE_ORDER.index(self.until) < STAGE_ORDER.index("score"):
            return ""
        if not any(s.kind == "score" for s in self.plan.stages):
            return ""
        from steerdsl.store.summary import format_summary

        return format_summary(self.con)


class BudgetReached(Exception):
    pass


def _none_if_nan(x: float) -> float | None:
    return None if x != x else float(x)


def run_plan(plan: Plan, *, until: str | None = None, retry_errors: bool = False,
             quiet: bool = False) -> RunResult:
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    start = time.monotonic()
    runner = Runner(plan, until=until, retry_errors=retry_errors, display=Display(quiet=quiet))
    result = runner.run()
    not_run = f", {len(result.stages_not_run)} not run" if result.stages_not_run else ""
    runner.display.say(f"done in {time.monotonic() - start:.1f} s: "
                       f"{count(len(result.stages_run), 'stage')} run, "
                       f"{len(result.stages_skipped)} already done{not_run}")
    return result
