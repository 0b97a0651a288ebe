"""Example rewrites: the same few probe rows answered by each model x intervention."""

from __future__ import annotations

from steerdsl.report.data import METRICS, Example, Group, Variant
from steerdsl.report.load.views import METRICS_TABLE, SELECTED_TABLE, metric_column, rows


def load_examples(con, groups: list[Group], variant: Variant = "binned", n_rows: int = 2,
                  max_groups: int = 6) -> list[Example]:
    """The same few probe rows answered by each model x intervention (up to `max_groups`)."""
    shown = groups[:max_groups]
    if not shown:
        return []
    keys = [[g.model for g in shown], [g.intervention for g in shown]]
    picked = rows(con, f"""
        SELECT row_id FROM {METRICS_TABLE}
        WHERE selected AND n_active > 0 AND (model, intervention) IN
              (SELECT (a, b) FROM (SELECT unnest(?) AS a, unnest(?) AS b))
        GROUP BY row_id HAVING count(DISTINCT (model, intervention)) = ?
        ORDER BY md5(row_id::VARCHAR) LIMIT ?""", keys + [len(shown), n_rows])
    if not picked:
        picked = rows(con, f"SELECT row_id FROM {METRICS_TABLE} WHERE selected GROUP BY row_id "
                           "ORDER BY md5(row_id::VARCHAR) LIMIT ?", [n_rows])
    row_ids = [r[0] for r in picked]
    out = []
    for row_id in row_ids:
        for g in shown:
            found = rows(con, f"""
                SELECT m.gen_hash, m.sample, c.prompt, c.answer, t.text,
                       {", ".join(f"m.{metric_column(k, variant)}" for k in METRICS)}
                FROM {METRICS_TABLE} m
                JOIN calls c USING (gen_hash, row_id, sample)
                JOIN generations gen USING (gen_hash)
                LEFT JOIN probe_rows pr ON pr.probe_hash = gen.probe_hash
                                       AND pr.row_id = m.row_id
                LEFT JOIN texts t ON t.text_hash = pr.text_hash
                WHERE m.selected AND m.model = ? AND m.intervention = ? AND m.row_id = ?
                LIMIT 1""", [g.model, g.intervention, row_id])
            if not found:
                continue
            gen_hash, sample, prompt, answer, source, se, mis, orth = found[0]
            goals = rows(con, f"""
                SELECT a.goal, a.source, a.delta, a.target, a.output
                FROM {SELECTED_TABLE} a
                LEFT JOIN goal_space gs ON gs.goal = a.goal AND gs.space_hash IN
                    (SELECT p.space_hash FROM probes p JOIN current c
                     ON c.stage_hash = p.probe_hash)
                WHERE a.gen_hash = ? AND a.row_id = ? AND a.sample = ?
                ORDER BY gs.position NULLS LAST, a.goal""", [gen_hash, row_id, sample])
            out.append(Example(row_id=int(row_id), source=source or "", group=g,
                               request=_request(prompt, source), answer=answer or "",
                               goals=goals, metrics={"steering_error": se,
                                                     "miscalibration": mis,
                                                     "orthogonality": orth}))
    return out


def _request(prompt: str | None, source: str | None) -> str:
    """The instruction part of a prompt: the user turn without the source text at its end."""
    if not prompt:
        return ""
    if source and prompt.rstrip().endswith(source.strip()):
        return prompt.rstrip()[: -len(source.strip())].rstrip()
    return prompt
