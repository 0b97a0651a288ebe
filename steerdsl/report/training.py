"""The training section: per train stage (model x fine-tune intervention) a line of where
training got to, and small charts of what it logged at each step: each reward's mean with a
band of ± its spread, the total reward, the KL divergence and the loss."""

from __future__ import annotations

from steerdsl.report import svg
from steerdsl.report.data import StoreData, TrainingStage
from steerdsl.report.markup import esc, group_colors
from steerdsl.words import count

_MEAN, _STD = "rewards/{}/mean", "rewards/{}/std"


def training_section(d: StoreData, anchor: str) -> str:
    if not d.training:
        return ""
    colors = group_colors(d.header.groups)
    parts = []
    for k, t in enumerate(d.training):
        # the colour the tuned model has in the other sections (when it was evaluated)
        color = colors.get((t.model, t.intervention), svg.color(len(colors) + k))
        figs = "".join(_figure(t, name, title, ylabel, color)
                       for name, title, ylabel in _charts(t))
        parts.append(f"<h3>{esc(t.label)}</h3><p class='note'>{_status(t)}</p>"
                     f"<div class='figs'>{figs}</div>")
    return (f"<section id='{anchor}-training'><h2>Training</h2>"
            "<p class='lead'>What GRPO fine-tuning logged at each optimizer step, per base "
            "model and fine-tune intervention: each reward's mean over the step's completions "
            "with a band of ± its standard deviation (rewards are negated errors: higher is "
            "better, 0 is perfect), the total reward (the weighted sum of the rewards), the KL "
            "divergence from the base model and the loss. The tuned model is evaluated in the "
            "other sections like any intervention.</p>" + "".join(parts) + "</section>")


def _charts(t: TrainingStage) -> list[tuple[str, str, str]]:
    """(logged name, chart title, y label) of the charts of a stage, in order: the rewards
    in the spec's order (then any other logged reward), the total, KL, loss."""
    logged = {name[len("rewards/"):-len("/mean")] for name in t.curves
              if name.startswith("rewards/") and name.endswith("/mean")}
    planned = [name for name, _ in t.rewards if name in logged]
    rewards = planned + sorted(logged - set(planned))
    out = [(_MEAN.format(r), f"reward {r}", "mean ± std") for r in rewards]
    # one reward of weight 1 is its own total: no second chart of the same line
    if "reward" in t.curves and not (len(rewards) == 1 and _same(t.curves["reward"],
                                                                 t.curves[out[0][0]])):
        out.append(("reward", "total reward", "mean ± std"))
    out += [(name, title, title) for name, title in (("kl", "KL"), ("loss", "loss"))
            if name in t.curves]
    return out


def _same(a: list[tuple[int, float]], b: list[tuple[int, float]]) -> bool:
    return len(a) == len(b) and all(s == u and abs(x - y) <= 1e-9 * max(1.0, abs(x))
                                    for (s, x), (u, y) in zip(a, b))


def _figure(t: TrainingStage, name: str, title: str, ylabel: str, color: str) -> str:
    points = t.curves[name]
    reward = (name[len("rewards/"):-len("/mean")] if name.startswith("rewards/") else None)
    spread_name = "reward_std" if name == "reward" else _STD.format(reward) if reward else ""
    by_step = dict(t.curves.get(spread_name, []))
    spread = [by_step.get(s, 0.0) for s, _ in points] if by_step else None
    chart = svg.curve([s for s, _ in points], [v for _, v in points], spread, title=title,
                      ylabel=ylabel, color=color)
    weights = dict(t.rewards)
    what = ""
    if reward and weights.get(reward, 1.0) != 1.0:
        what = f"weight {_number(weights[reward])}"
    elif name == "reward" and weights:
        what = " + ".join(r if w == 1.0 else f"{_number(w)} × {r}" for r, w in t.rewards)
    (s0, v0), (s1, v1) = points[0], points[-1]
    steps = (f"step {s0}: {svg.fmt(v0)}" if s0 == s1 else
             f"step {s0}: {svg.fmt(v0)} → step {s1}: {svg.fmt(v1)}")
    # keep "step N: value" on one line when the caption wraps
    text = esc(steps).replace("step ", "step\u00a0").replace(": ", ":\u00a0")
    return (f"<figure>{chart}<figcaption>{esc(what) + '<br>' if what else ''}{text}"
            "</figcaption></figure>")


def _number(x: float) -> str:
    return f"{x:g}"


def _status(t: TrainingStage) -> str:
    steps = t.steps
    parts = [f"{count(len(steps), 'step')} logged"]
    reward = t.curves.get("reward")
    if reward:
        parts.append(f"reward at step {reward[-1][0]}: {svg.fmt(reward[-1][1])}")
    if t.adapter is not None:
        a = t.adapter
        took = f", {_duration(a.seconds)}" if a.seconds is not None else ""
        parts.append(f"adapter <code>{esc(a.path)}</code> "
                     f"({_keep(count(a.steps, 'step') + took)})")
    else:
        done = steps[-1] if steps else 0
        of = f" of {t.planned_steps}" if t.planned_steps is not None else ""
        parts.append(f"training not finished ({_keep(f'{done}{of} steps')})")
    return " · ".join(parts)


def _keep(text: str) -> str:
    """On one line (non-breaking spaces)."""
    return text.replace(" ", "\u00a0")


def _duration(seconds: float) -> str:
    s = round(seconds)
    if s < 60:
        return f"{seconds:.1f} s" if seconds < 10 else f"{s} s"
    if s < 3600:
        return f"{s // 60} min {s % 60:02d} s"
    return f"{s // 3600} h {s % 3600 // 60:02d} min"
