"""The report's training section, from train_log rows written through the store's own
steerdsl/store/train_log.py into a synthetic store: the stages' names, the numbers of the
status line (steps logged, last reward, the adapter or how far training got, against the
steps of the run's plan), one chart per logged curve, and no section without training."""

from __future__ import annotations

import json
import math
import re
import shutil

import pytest

from steerdsl.report import render_report
from steerdsl.store.db import open_store
from steerdsl.store.train_log import Adapter, record_log, save_adapter
from support.synthetic_store import write_synthetic_store

FINISHED = ("train:llama/rl", "a1b2c3d4e5f60718")
UNFINISHED = ("train:gpt/rl", "0f1e2d3c4b5a6978")
OLD = ("train:llama/rl", "ffffeeeeddddcccc")  # an earlier spec's stage: not current


def step_values(step: int, rewards: dict[str, float]) -> dict[str, float]:
    """What TRL logs at a step: per reward its mean (improving with the step) and std, the
    weighted total and its std, KL and loss."""
    means = {name: -0.6 / (1 + 0.1 * step) * (1 + k) for k, name in enumerate(rewards)}
    out = {f"rewards/{n}/mean": m for n, m in means.items()}
    out |= {f"rewards/{n}/std": 0.1 + 0.01 * k for k, n in enumerate(rewards)}
    out |= {"reward": sum(w * means[n] for n, w in rewards.items()), "reward_std": 0.2,
            "kl": 0.001 * step, "loss": 0.05 * math.sin(step), "learning_rate": 1e-6,
            "completions/mean_length": 40.0 + step}
    return out


def write_training(con, stage: tuple[str, str], steps: int, rewards: dict[str, float],
                   *, current: bool = True) -> None:
    name, train_hash = stage
    for step in range(1, steps + 1):
        record_log(con, train_hash, step, step_values(step, rewards), run_id="run-1")
    if current:
        con.execute("INSERT OR REPLACE INTO current VALUES (?, ?)", [name, train_hash])


REWARDS = {"steering_error": 1.0, "orthogonality": 0.5}


def plan_training(con, stages: dict[tuple[str, str], int], rewards: dict[str, float]) -> None:
    """Put the train stages in the stored plan (as the graph makes them, with their steps),
    and the rewards in the fine-tune intervention's plan."""
    (plan,) = con.execute("SELECT plan FROM runs").fetchone()
    plan = json.loads(plan)
    for (name, train_hash), steps in stages.items():
        model, intervention = name.split(":")[1].split("/")
        plan["stages"].append({"key": {"kind": "train", "model": model,
                                       "intervention": intervention},
                               "id": name, "kind": "train", "inputs": [], "hash": train_hash,
                               "counts": {"steps": steps, "completions": steps * 8}})
        iv = next(iv for iv in plan["interventions"] if iv["name"] == intervention)
        iv["train"] = {"rewards": [{"metric": r, "weight": w} for r, w in rewards.items()]}
    con.execute("UPDATE runs SET plan = ?", [json.dumps(plan)])


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    path = tmp_path_factory.mktemp("report-training") / "store.duckdb"
    write_synthetic_store(path, failed_fraction=0.0, interventions={"direct": 1, "rl": 1})
    con = open_store(path)
    write_training(con, OLD, 2, REWARDS, current=False)
    write_training(con, FINISHED, 12, REWARDS)
    save_adapter(con, Adapter(FINISHED[1], "llama", "rl", "/runs/store.train/rl-a1b2/adapter",
                              12, 754.2, {"trl": "1.16.0"}))
    write_training(con, UNFINISHED, 5, REWARDS)
    plan_training(con, {FINISHED: 12, UNFINISHED: 200}, REWARDS)
    con.close()
    return render_report([path])


def section_of(page: str) -> str:
    section = page[page.index("id='s0-training'"):]
    return section[:section.index("</section>")]


def stage_part(section: str, label: str) -> str:
    part = section[section.index(f"<h3>{label}</h3>"):]
    return part[:part.index("</div>")]


def status_of(part: str) -> str:
    return re.search(r"<p class='note'>(.*?)</p>", part).group(1).replace("\u00a0", " ")


def chart_titles(part: str) -> list[str]:
    return re.findall(r"<svg[^>]*><title>(.*?)</title>", part)


def captions(part: str) -> list[str]:
    return [c.replace("\u00a0", " ") for c in re.findall(r"<figcaption>(.*?)</figcaption>", part)]


def test_finished_stage(trained):
    part = stage_part(section_of(trained), "llama / rl")
    first, last = step_values(1, REWARDS), step_values(12, REWARDS)
    assert status_of(part) == (
        f"12 steps logged · reward at step 12: {last['reward']:.3f} · adapter "
        "<code>/runs/store.train/rl-a1b2/adapter</code> (12 steps, 12 min 34 s)")
    # the rewards in the spec's order, then their weighted total, KL and loss
    assert chart_titles(part) == ["reward steering_error", "reward orthogonality",
                                  "total reward", "KL", "loss"]
    assert part.count("<polygon") == 3  # a ± std band per reward and for the total

    def change(name: str) -> str:
        return f"step 1: {svg_fmt(first[name])} → step 12: {svg_fmt(last[name])}"

    assert captions(part) == [
        change("rewards/steering_error/mean"),
        "weight 0.5<br>" + change("rewards/orthogonality/mean"),
        "steering_error + 0.5 × orthogonality<br>" + change("reward"),
        change("kl"), change("loss")]
    assert "0.012" in change("kl")  # the last KL
    assert "learning_rate" not in part and "mean_length" not in part


def svg_fmt(x: float) -> str:
    from steerdsl.report.svg import fmt

    return fmt(x)


def test_unfinished_stage_against_the_plan(trained):
    part = stage_part(section_of(trained), "gpt / rl")
    assert status_of(part) == (f"5 steps logged · reward at step 5: "
                               f"{step_values(5, REWARDS)['reward']:.3f} · "
                               "training not finished (5 of 200 steps)")
    assert chart_titles(part)[:3] == ["reward steering_error", "reward orthogonality",
                                      "total reward"]


def test_only_current_stages_in_order_and_in_the_contents(trained):
    section = section_of(trained)
    assert re.findall(r"<h3>(.*?)</h3>", section) == ["gpt / rl", "llama / rl"]
    assert "'note'>2 steps logged" not in section  # the earlier spec's stage
    assert "href='#s0-training'" in trained
    # the tuned model keeps its colour from the other sections (groups in model x
    # intervention order: gpt/direct, gpt/rl, llama/direct, llama/rl)
    from steerdsl.report.svg import color

    strokes = set(re.findall(r'<polyline[^>]*stroke="(#\w+)"', stage_part(section, "llama / rl")))
    assert strokes == {color(3)}


def test_without_a_plan(tmp_path):
    """No planned steps to count against; the rewards as logged; one reward of weight 1 is its
    own total (no second chart of the same line)."""
    path = tmp_path / "store.duckdb"
    write_synthetic_store(path, failed_fraction=0.0, interventions={"direct": 1, "rl": 1})
    con = open_store(path)
    write_training(con, FINISHED, 3, {"steering_error": 1.0})
    con.execute("UPDATE runs SET plan = NULL")
    con.close()
    part = stage_part(section_of(render_report([path])), "llama / rl")
    assert status_of(part).endswith(" · training not finished (3 steps)")
    assert chart_titles(part) == ["reward steering_error", "KL", "loss"]


def test_no_section_without_training(tmp_path):
    path = tmp_path / "plain.duckdb"
    write_synthetic_store(path, failed_fraction=0.0)
    con = open_store(path)
    write_training(con, OLD, 2, {"steering_error": 1.0}, current=False)  # not the current plan's
    con.execute("INSERT INTO current VALUES ('train:llama/rl', 'notstarted000000')")
    con.close()
    page = render_report([path])
    assert "Training" not in page and "-training'" not in page


def test_curve_of_one_step_a_gap_and_a_long_name():
    from steerdsl.report.svg import curve

    one = curve([7], [-0.4], [0.1], title="reward steering_error", ylabel="mean ± std")
    assert one.count("<circle") == 1 and "<polygon" not in one
    assert one.count('stroke-width="1.2"') == 3  # ± std as an error bar
    ticks = re.findall(r'<text x="[\d.]+" y="[\d.]+" text-anchor="middle" font-size="11">'
                       r"(\d+)</text>", one)
    assert ticks == ["7"]  # whole steps only, and only the one there is
    gap = curve([1, 2, 3], [-0.5, float("nan"), -0.3], None, title="KL", ylabel="KL")
    assert gap.count("<circle") == 2 and "<polygon" not in gap and "nan" not in gap
    long = curve([1, 2], [0.1, 0.2], title="reward error_a_rather_long_goal_name_here",
                 ylabel="mean ± std")
    assert 'font-size="9" font-weight="bold">reward error_a_rather' in long


@pytest.mark.skipif(not (shutil.which("chromium") or shutil.which("chromium-browser")),
                    reason="headless Chromium not installed (Debian: apt-get install -y chromium)")
def test_the_section_in_chromium(tmp_path):
    """Loads without console errors, every training chart draws, and a screenshot of the
    section is kept as test-artifacts/report-training.png (look at it)."""
    import test_report_chromium as browser

    store = tmp_path / "store.duckdb"
    write_synthetic_store(store, failed_fraction=0.0, interventions={"direct": 1, "rl": 1})
    con = open_store(store)
    write_training(con, FINISHED, 60, REWARDS)
    save_adapter(con, Adapter(FINISHED[1], "llama", "rl", "/runs/store.train/rl-a1b2/adapter",
                              60, 3725.0, {}))
    write_training(con, UNFINISHED, 1, REWARDS)
    plan_training(con, {FINISHED: 60, UNFINISHED: 60}, REWARDS)
    con.close()
    page = render_report([store])
    only = tmp_path / "training.html"
    only.write_text(page[:page.index("<body>") + 6] + "<section " + section_of(page)
                    + "</section></body>"
                    "</html>", encoding="utf-8")
    run = browser.chromium(tmp_path, "--dump-dom", only.as_uri())
    assert run.returncode == 0 and browser.console_errors(run.stderr) == []
    svgs = re.findall(r"<svg\b[^>]*>(.*?)</svg>", run.stdout, re.S)
    assert len(svgs) == 10  # 2 stages x (2 rewards, total, KL, loss)
    assert all(re.search(r"<(polyline|circle)\b", s) for s in svgs)
    browser.ARTIFACTS.mkdir(exist_ok=True)
    shot = browser.ARTIFACTS / "report-training.png"
    shot.unlink(missing_ok=True)
    run = browser.chromium(tmp_path, "--hide-scrollbars", "--window-size=1200,900",
                                 f"--screenshot={shot}", only.as_uri())
    assert run.returncode == 0 and shot.exists(), run.stderr[-2000:]
    colour = browser.png_pixels(shot).astype(int)
    assert ((colour.max(axis=2) - colour.min(axis=2)) > 60).mean() > 0.002  # the curves drew
