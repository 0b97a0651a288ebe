"""generate:M/I — every (probe row, sample) of one model x intervention, answered once.

- engine.py: prompts, the requests (through steerdsl.llm), resumable batched writes of calls.
- failures.py: what the console says about failed, timed-out and unreachable models.
- calibrated.py: the requests of a calibrated intervention (`calibrate on PROBE`), from the
  fit of its calibrate stage.

The intervention's kind decides which model is asked (`resolve_model`): a prompt
intervention asks the declared model; a kind that changes the model (fine-tuning) resolves to
its own model here, and the engine takes whatever model it is handed.
"""

from __future__ import annotations

from steerdsl.errors import RunError
from steerdsl.plan.keys import GenerateKey, ProbeKey, TrainKey
from steerdsl.plan.model import FinetuneIntervention, ModelPlan, Plan, PromptIntervention, Stage
from steerdsl.stages.context import SKIPPED, Outcome, RunContext

KIND = "generate"
NEEDS = ("probe", "space")  # the space: closed-loop feedback measures answers
CURRENT = True  # set before requests start: the views show answers as they arrive


def resolve_model(plan: Plan, key: GenerateKey) -> ModelPlan:
    """The model a generation asks, by the kind of its intervention."""
    iv = plan.intervention(key.intervention)
    if iv.kind == "prompt":
        return plan.model(key.model)
    if iv.kind == "finetune":
        return _tuned_model(plan, key, iv)
    raise RunError(f"intervention {iv.name}: kind {iv.kind!r} cannot generate in this version")


def _tuned_model(plan: Plan, key: GenerateKey, iv: FinetuneIntervention) -> ModelPlan:
    """The base model plus the adapter of its train stage: in process, or through the
    OpenAI-compatible server (vLLM --enable-lora) that serves the adapter under the
    intervention's name. Nothing is built or loaded here (the train stage may not have run)."""
    from steerdsl.train.base_model import checkpoint_path
    from steerdsl.train.files import adapter_dir, train_dir, train_root

    base = plan.model(key.model)
    pacing = {"concurrency": base.concurrency, "rpm": base.rpm, "tpm": base.tpm,
              "timeout": base.timeout, "retries": base.retries, "truncated": base.truncated}
    if iv.serve:
        return ModelPlan(name=base.name, provider="litellm", model=f"openai/{iv.name}",
                         api_base=iv.serve, sampling=base.sampling, **pacing)
    stage = plan.stage(TrainKey(model=key.model, intervention=iv.name))
    return ModelPlan(name=base.name, provider="hf",
                     model=str(checkpoint_path(base, train_root(plan))),
                     adapter=str(adapter_dir(train_dir(plan, stage))),
                     sampling=base.sampling, **pacing)


def run(ctx: RunContext, stage: Stage) -> Outcome:
    from steerdsl.stages.generate.engine import run_generate
    from steerdsl.stages.generate.rows import ProbeRequests

    if ctx.done(stage) and not ctx.retry_errors:
        return SKIPPED
    key: GenerateKey = stage.key
    if key.model in ctx.result.unreachable:
        # found unreachable earlier in this run: no more requests to it (its score stages
        # still run: they score the answers stored, without a request to it)
        return Outcome(ran="not_run")
    probe_hash = ctx.plan.stage(ProbeKey(probe=key.probe)).hash
    rows = ProbeRequests(ctx.con, probe_hash)  # read in chunks as requests go out
    iv = ctx.plan.intervention(key.intervention)
    if isinstance(iv, PromptIntervention) and iv.calibrate is not None:
        from steerdsl.stages.generate.calibrated import calibrated_rows

        # A list: every row's calibrated request is recorded before any is asked.
        rows = calibrated_rows(ctx, stage, iv, list(rows))
        if rows is None:
            return Outcome(ran="not_run")
    bar = ctx.display.stage(f"generate {key.model}/{key.intervention}", len(rows) * iv.samples)
    model = resolve_model(ctx.plan, key)
    if model.batch:
        return _run_batch(ctx, stage, rows, model, bar)
    stats = run_generate(ctx.con, ctx.plan, stage, rows, model=model, progress=bar,
                         retry_errors=ctx.retry_errors, ledger=ctx.ledger)
    looped = None
    if getattr(iv, "feedback", None) is not None and not stats.unreachable:
        from steerdsl.stages.generate.feedback import run_feedback

        looped = run_feedback(ctx, stage, model)
        if looped.unreachable:
            stats.unreachable = looped.unreachable
    complete = finish(ctx, stage, model, stats)
    if looped is not None and not stats.unreachable:
        return _feedback_outcome(ctx, stage, stats, looped)
    return Outcome(done={"requests": stats.ok} if complete else None)


def finish(ctx: RunContext, stage: Stage, model: ModelPlan, stats) -> bool:
    """Say what went wrong with a stage's requests (slow, failed, unreachable: then no more
    requests to the model in this run); True when every answer is stored."""
    from steerdsl.stages.generate.failures import describe_failures, describe_timeouts

    slow = describe_timeouts(model, stats.timeouts, stats.requests, stats.concurrency)
    if slow:
        ctx.display.warn(f"  {stage.id}: {slow}")
    failed, failures = describe_failures(ctx.con, stage.hash, stage.id, stats.total)
    if failures:
        ctx.display.warn(failures)
    ctx.result.failed_calls += failed
    if stats.unreachable:
        ctx.result.unreachable[stage.key.model] = stats.unreachable
        ctx.display.warn(stats.unreachable)
        return False
    return not stats.failed


def _feedback_outcome(ctx: RunContext, stage: Stage, stats, looped) -> Outcome:
    """Done when every answer is stored and every conversation has ended (landed, or all its
    rounds asked) without a failed round."""
    from steerdsl.store.feedback import failed_rounds

    failed = failed_rounds(ctx.con, stage.hash)
    if failed:
        ctx.display.warn(f"  {stage.id}: {failed} feedback rounds failed (stored as errors in "
                         "feedback_rounds); rerun with --retry-errors")
        ctx.result.failed_calls += failed
    if stats.failed or failed or looped.halted:
        return Outcome()
    return Outcome(done={"requests": stats.ok, "feedback_requests": looped.ok})


def _run_batch(ctx: RunContext, stage: Stage, rows, model: ModelPlan, bar) -> Outcome:
    """The stage of a `batch on` model: provider batch jobs (batch.py)."""
    from steerdsl.stages.generate.batch import run_batch_generate
    from steerdsl.stages.generate.failures import describe_failures
    from steerdsl.words import count

    stats = run_batch_generate(ctx.con, ctx.plan, stage, rows, model=model, progress=bar,
                               retry_errors=ctx.retry_errors, ledger=ctx.ledger,
                               wait=ctx.wait)
    failed, failures = describe_failures(ctx.con, stage.hash, stage.id, stats.total)
    if failures:
        ctx.display.warn(failures)
    if stats.jobs_open:
        ctx.result.batch_jobs_open += stats.jobs_open
        ctx.display.warn(f"  {stage.id}: {count(stats.jobs_open, 'batch job')} submitted and "
                         "not finished yet; a later `steerdsl run` collects the answers")
        return Outcome()
    ctx.result.failed_calls += failed
    return Outcome(done=None if stats.failed else {"requests": stats.ok})
