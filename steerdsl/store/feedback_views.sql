-- The views of closed-loop feedback by round (docs/sql.md), over `feedback_values` and the
-- macros `steer_answer_metrics` and `steer_statistics` of views.sql (applied after it, like
-- it on every writable open: everything here is CREATE OR REPLACE). A public interface: add
-- columns, never rename.

-- Closed-loop feedback by round: one row per (answer, round r = 0..N) of the current feedback
-- generations, the metrics of the answer in force after r rounds (answer_round: the round it
-- came from). Round N's are the scored answers' (`metrics`). Truncated answers are flagged,
-- or left out when their generation's truncated_policy is 'drop'.
CREATE OR REPLACE VIEW feedback_metrics AS
WITH gens AS (
    SELECT * FROM current_generations
),
answer_rounds AS (
    SELECT DISTINCT v.gen_hash, v.row_id, v.sample, v.round, v.answer_round,
           steer_truncated(f.finish_reason) AS truncated
    FROM feedback_values v
    JOIN feedback_rounds f ON f.gen_hash = v.gen_hash AND f.row_id = v.row_id
                          AND f.sample = v.sample AND f.round = v.answer_round
)
SELECT g.model, g.intervention, g.probe, g.gen_hash, d.row_id, d.sample, d.round,
       a.answer_round, d.n_active, d.steering_error, d.miscalibration, d.orthogonality,
       d.steering_error_raw, d.miscalibration_raw, d.orthogonality_raw, d.orthogonality_paper,
       a.truncated
FROM steer_answer_metrics(true) d
JOIN gens g ON g.gen_id = d.gen_id
JOIN answer_rounds a ON a.gen_hash = g.gen_hash AND a.row_id = d.row_id
                    AND a.sample = d.sample AND a.round = d.round
WHERE NOT (a.truncated AND g.truncated_policy = 'drop');

-- Per (model, intervention, round, metric) of the feedback generations: the statistics of
-- `summary` (macro steer_statistics) over feedback_metrics, round by round.
CREATE OR REPLACE VIEW feedback_summary AS
WITH long AS (
    UNPIVOT (
        SELECT model, intervention, round, steering_error, miscalibration, orthogonality,
               steering_error_raw, miscalibration_raw, orthogonality_raw, orthogonality_paper
        FROM feedback_metrics
    )
    ON steering_error, miscalibration, orthogonality, steering_error_raw, miscalibration_raw,
       orthogonality_raw, orthogonality_paper
    INTO NAME metric VALUE value
),
stats AS (
    SELECT model, intervention, round, metric, steer_statistics(value) AS s
    FROM long
    GROUP BY ALL
)
SELECT model, intervention, round, metric, unnest(s) FROM stats;
