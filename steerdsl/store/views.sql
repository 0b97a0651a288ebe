-- The store's views: answers, metrics (METHOD.md section 4) and summaries, in SQL so users can
-- re-slice results without Python. A public interface (docs/sql.md): add columns, never rename.
-- Applied after schema.sql on every writable open, so everything here is CREATE OR REPLACE.
--
-- Every view follows the `current` table: only the generations whose hash is current, over a
-- probe whose hash is current, count. Stage hashes are the keys: a generation's hash covers
-- its model's and intervention's names, so it is current only for its own stage.

-- bin(x; z0) = #{k : x >= clip(z0 + C_k, 0, 1)} - 1 with C = [-1, -.5, -.2, -.1, .1, .2, .5, 1].
-- x >= clip(y, 0, 1) is written as (x >= 1 OR (x >= 0 AND x >= y)): the same test for every
-- x and y, and about twice as fast in DuckDB as least/greatest. Written out (not a list) so it
-- evaluates vectorized; the casts keep the cut points IEEE doubles (DuckDB reads 0.1 as a
-- DECIMAL), so z0 + C_k is the very sum numpy computes.
CREATE OR REPLACE MACRO steer_bin(x, z0) AS (
      CAST(x >= 1 OR (x >= 0 AND x >= z0 + CAST(-1.0 AS DOUBLE)) AS INTEGER)
    + CAST(x >= 1 OR (x >= 0 AND x >= z0 + CAST(-0.5 AS DOUBLE)) AS INTEGER)
    + CAST(x >= 1 OR (x >= 0 AND x >= z0 + CAST(-0.2 AS DOUBLE)) AS INTEGER)
    + CAST(x >= 1 OR (x >= 0 AND x >= z0 + CAST(-0.1 AS DOUBLE)) AS INTEGER)
    + CAST(x >= 1 OR (x >= 0 AND x >= z0 + CAST(0.1 AS DOUBLE)) AS INTEGER)
    + CAST(x >= 1 OR (x >= 0 AND x >= z0 + CAST(0.2 AS DOUBLE)) AS INTEGER)
    + CAST(x >= 1 OR (x >= 0 AND x >= z0 + CAST(0.5 AS DOUBLE)) AS INTEGER)
    + CAST(x >= 1 OR (x >= 0 AND x >= z0 + CAST(1.0 AS DOUBLE)) AS INTEGER)
    - 1
);

-- Static bin of a requested delta: #{k : delta >= C_k} - 1 (a NULL delta is passed in as 0).
CREATE OR REPLACE MACRO steer_delta_bin(d) AS (
      CAST(d >= CAST(-1.0 AS DOUBLE) AS INTEGER)
    + CAST(d >= CAST(-0.5 AS DOUBLE) AS INTEGER)
    + CAST(d >= CAST(-0.2 AS DOUBLE) AS INTEGER)
    + CAST(d >= CAST(-0.1 AS DOUBLE) AS INTEGER)
    + CAST(d >= CAST(0.1 AS DOUBLE) AS INTEGER)
    + CAST(d >= CAST(0.2 AS DOUBLE) AS INTEGER)
    + CAST(d >= CAST(0.5 AS DOUBLE) AS INTEGER)
    + CAST(d >= CAST(1.0 AS DOUBLE) AS INTEGER)
    - 1
);

-- x * x (pow() is several times slower in DuckDB)
CREATE OR REPLACE MACRO steer_square(x) AS (x * x);

-- |a.r| / (||r|| + eps)^2, from the dot products
CREATE OR REPLACE MACRO steer_miscalibration(ar, rr) AS (
    abs(ar) / pow(sqrt(rr) + CAST(1e-8 AS DOUBLE), 2)
);

-- clip(rej(a, r) / (||m|| + 1e-4 (||r|| + eps)), 0, 1), from rej(a, r), m.m and r.r
CREATE OR REPLACE MACRO steer_orthogonality(rej, mm, rr) AS (
    least(greatest(
        rej / (sqrt(mm) + CAST(1e-4 AS DOUBLE) * (sqrt(rr) + CAST(1e-8 AS DOUBLE))),
        CAST(0 AS DOUBLE)), CAST(1 AS DOUBLE))
);

-- A call whose answer was cut off (at max_tokens or the context): litellm reports every
-- provider's equivalent as 'length'.
CREATE OR REPLACE MACRO steer_truncated(finish_reason) AS (
    coalesce(finish_reason = 'length', false)
);

-- The generations the views count, with their probe's name. gen_id numbers them for this
-- query only (integer keys make the metrics' joins and groupings cheaper than the hashes).
-- truncated_policy: 'drop' leaves truncated answers out of answers and metrics.
CREATE OR REPLACE VIEW current_generations AS
SELECT g.gen_hash, g.model, g.intervention, p.name AS probe, g.probe_hash, g.settings,
       CAST(row_number() OVER (ORDER BY g.gen_hash) AS INTEGER) AS gen_id,
       coalesce(sc.truncated, 'score') AS truncated_policy
FROM generations g
JOIN probes p ON p.probe_hash = g.probe_hash
LEFT JOIN scorings sc ON sc.gen_hash = g.gen_hash
WHERE g.gen_hash IN (SELECT stage_hash FROM current)
  AND g.probe_hash IN (SELECT stage_hash FROM current);

-- The calls that are not plain answers: failed, or cut off. They are few, so one join with
-- them (rather than with every call) decides what counts and flags truncated answers.
CREATE OR REPLACE VIEW flagged_calls AS
SELECT gen_hash, row_id, sample, status IS DISTINCT FROM 'ok' AS failed,
       status = 'ok' AND steer_truncated(finish_reason) AS truncated
FROM calls
WHERE status IS DISTINCT FROM 'ok' OR steer_truncated(finish_reason);

-- One row per (answer, goal): what was asked (source, delta, target) and what came back.
-- Scored answers (rows in outputs) whose call did not fail. Truncated answers are flagged,
-- or left out when their generation's truncated_policy is 'drop'.
CREATE OR REPLACE VIEW answers AS
SELECT cg.model, cg.intervention, cg.probe, o.gen_hash, o.row_id, o.sample, pg.goal,
       pg.delta IS NOT NULL AS active,
       pg.source_raw, pg.source, pg.delta, pg.target,
       o.raw AS output_raw, o.value AS output,
       coalesce(f.truncated, false) AS truncated
FROM current_generations cg
JOIN outputs o ON o.gen_hash = cg.gen_hash
JOIN probe_goals pg ON pg.probe_hash = cg.probe_hash AND pg.row_id = o.row_id
                   AND pg.goal = o.goal
LEFT JOIN flagged_calls f ON f.gen_hash = o.gen_hash AND f.row_id = o.row_id
                         AND f.sample = o.sample
WHERE f.gen_hash IS NULL
   OR NOT (f.failed OR (f.truncated AND cg.truncated_policy = 'drop'));

-- grounded (docs/method.md "Groundedness", following the reference): a person's decision
-- counts; without one, only a "yes" verdict is grounded (a "yes" waiting for its spot check
-- counts as grounded, "no" and unparsed do not).
CREATE OR REPLACE MACRO steer_grounded(verdict, decision) AS (
    CASE WHEN decision = 'approve' THEN true
         WHEN decision = 'reject' THEN false
         ELSE coalesce(verdict = 'yes', false) END
);

-- Per answer of a grounded current generation that has verdicts (none of them failed: a
-- failed request is asked again by the next run): the verdict combined over the questions asked
-- ('yes' or 'no' when they all say so; NULL when one could not be parsed or the two orders
-- disagree), the person's decision, and the generation's judge settings. Answers are not yet
-- filtered by `candidates`: which one is selected is for `metrics` to say.
CREATE OR REPLACE VIEW answer_verdicts AS
WITH combined AS (
    SELECT judge_id, source_hash, answer_hash,
           CASE WHEN count(*) FILTER (WHERE verdict = 'yes') = count(*) THEN 'yes'
                WHEN count(*) FILTER (WHERE verdict = 'no') = count(*) THEN 'no'
           END AS verdict,
           count(verdict) = count(*) AS parsed,
           string_agg(rationale, ' | ' ORDER BY swapped) AS rationale
    FROM verdicts
    WHERE judge_id IN (SELECT judge_id FROM groundings)
    GROUP BY ALL
    -- a failed request is asked again: its answer is not judged until then
    HAVING count(*) FILTER (WHERE status IS DISTINCT FROM 'ok') = 0
)
SELECT c.gen_hash, c.row_id, c.sample, gr.judge, gr.judge_id, gr.candidates, gr.spot_check,
       v.source_hash, v.answer_hash, v.verdict, v.parsed, v.rationale, r.decision
FROM current_generations cg
JOIN groundings gr ON gr.gen_hash = cg.gen_hash
JOIN calls c ON c.gen_hash = cg.gen_hash AND c.status = 'ok'
JOIN probe_rows pr ON pr.probe_hash = cg.probe_hash AND pr.row_id = c.row_id
JOIN combined v ON v.judge_id = gr.judge_id AND v.source_hash = pr.text_hash
               AND v.answer_hash = c.answer_hash
LEFT JOIN reviews r ON r.judge_id = gr.judge_id AND r.source_hash = pr.text_hash
                   AND r.answer_hash = c.answer_hash;

-- Closed-loop feedback (docs/method.md): per round r = 0..N of every conversation of a current
-- feedback generation, the answer in force after r rounds (its latest ok round <= r: a
-- conversation that landed early keeps its answer) and that answer's values.
CREATE OR REPLACE VIEW feedback_values AS
WITH gens AS (
    SELECT gen_hash,
           CAST(json_extract(settings, '$.intervention.feedback.rounds') AS INTEGER) AS rounds
    FROM current_generations
    WHERE json_extract(settings, '$.intervention.feedback') IS NOT NULL
),
steps AS (
    SELECT gen_hash, CAST(unnest(range(0, rounds + 1)) AS INTEGER) AS round FROM gens
),
in_force AS (
    SELECT s.gen_hash, f.row_id, f.sample, s.round, max(f.round) AS answer_round
    FROM steps s
    JOIN feedback_rounds f ON f.gen_hash = s.gen_hash AND f.round <= s.round
                          AND f.status = 'ok'
    GROUP BY ALL
)
SELECT i.gen_hash, i.row_id, i.sample, i.round, i.answer_round, o.goal, o.raw, o.value
FROM in_force i
JOIN feedback_outputs o ON o.gen_hash = i.gen_hash AND o.row_id = i.row_id
                       AND o.sample = i.sample AND o.round = i.answer_round;

-- The metrics of METHOD.md section 4 per answer, computed from the long tables for any number
-- of goals: of the scored answers (`outputs`; round -1) or, by_round, of every feedback
-- round's answer in force (`feedback_values`). One formula for both. An answer with a NULL
-- source or output value (a failed measurement) or without a value for every goal of its
-- probe row is `incomplete`: its metrics are never over fewer goals.
CREATE OR REPLACE MACRO steer_scores(by_round) AS TABLE
WITH gens AS (
    SELECT * FROM current_generations
),
vals AS (
    SELECT gen_hash, row_id, sample, CAST(-1 AS INTEGER) AS round, goal, value
    FROM outputs WHERE NOT by_round
    UNION ALL
    SELECT gen_hash, row_id, sample, round, goal, value
    FROM feedback_values WHERE by_round
),
requests AS (
    -- per (probe row, goal): what only depends on the request, computed once per probe row
    SELECT probe_hash, row_id, goal, delta IS NOT NULL AS active, source AS z0,
           coalesce(target, source) AS zs,
           coalesce(target, source) - source AS r,
           CAST(steer_bin(coalesce(target, source), source) AS TINYINT) AS target_bin,
           CAST(steer_delta_bin(coalesce(delta, CAST(0 AS DOUBLE))) - 3 AS TINYINT) AS q_bin
    FROM probe_goals
    WHERE probe_hash IN (SELECT probe_hash FROM gens)
),
probe_sizes AS (
    -- every row of a probe has the same goals
    SELECT probe_hash, count(DISTINCT goal) AS n_goals FROM requests GROUP BY ALL
),
goal_terms AS (
    -- raw: a = z* - zh, r = z* - z0, m = zh - z0 (z* = target, or the source if inactive);
    -- binned parts as small integers (this table is the big one: keep it narrow):
    -- a = (bin(zh) - bin(z*)) / 7, m = (bin(zh) - 3) / 7, q = q_bin / 7
    SELECT g.gen_id, o.row_id, o.sample, o.round, p.active,
           p.zs - o.value AS a, p.r, o.value - p.z0 AS m,
           CAST(steer_bin(o.value, p.z0) AS TINYINT) AS output_bin, p.target_bin, p.q_bin
    FROM gens g
    JOIN vals o ON o.gen_hash = g.gen_hash
    JOIN requests p ON p.probe_hash = g.probe_hash AND p.row_id = o.row_id AND p.goal = o.goal
),
binned_terms AS (
    SELECT gen_id, row_id, sample, round, active, a, r, m,
           m IS NULL AS missing,  -- a NULL source or output value
           CAST(output_bin - target_bin AS DOUBLE) / 7 AS ab,
           CAST(output_bin - 3 AS DOUBLE) / 7 AS mb,
           CAST(q_bin AS DOUBLE) / 7 AS q
    FROM goal_terms
),
projections AS (
    -- Sums over a row's goals are compensated (fsum: Kahan-Babuska): a parallel aggregation
    -- meets the goals in any order, and plain floating-point sums in another order differ in
    -- their last bits from run to run; compensated ones give the correctly rounded sum.
    -- first pass: the dot products the rejections need, a.r / (||r||^2 + eps) and the like
    SELECT gen_id, row_id, sample, round,
           fsum(a * r) AS ar, fsum(r * r) AS rr,
           fsum(ab * q) AS bq, fsum(q * q) AS qq,
           fsum(ab * r) AS br
    FROM binned_terms
    GROUP BY ALL
),
dots AS (
    -- second pass: the other sums, and rej(a, r) = || a - (a.r / (||r||^2 + eps)) r ||
    -- summed goal by goal: expanding the square into dot products would cancel away the
    -- small values of an a nearly parallel to r that METHOD.md's worked cases check
    SELECT t.gen_id, t.row_id, t.sample, t.round, count(*) AS n_scored,
           count(*) FILTER (WHERE t.active) AS n_active, bool_or(t.missing) AS missing,
           fsum(t.a * t.a) AS aa, fsum(t.m * t.m) AS mm,
           fsum(t.ab * t.ab) AS bb, fsum(t.mb * t.mb) AS nn,
           any_value(d.ar) AS ar, any_value(d.rr) AS rr, any_value(d.bq) AS bq,
           any_value(d.qq) AS qq,
           sqrt(fsum(steer_square(t.a - d.ar / (d.rr + CAST(1e-8 AS DOUBLE)) * t.r)))
               AS rej_raw,
           sqrt(fsum(steer_square(t.ab - d.bq / (d.qq + CAST(1e-8 AS DOUBLE)) * t.q)))
               AS rej_bin,
           sqrt(fsum(steer_square(t.ab - d.br / (d.rr + CAST(1e-8 AS DOUBLE)) * t.r)))
               AS rej_paper
    FROM binned_terms t
    JOIN projections d USING (gen_id, row_id, sample, round)
    GROUP BY ALL
)
SELECT d.gen_id, d.row_id, d.sample, d.round, d.n_active,
       d.missing OR d.n_scored <> s.n_goals AS incomplete,
       sqrt(d.bb) AS se, steer_miscalibration(d.bq, d.qq) AS mis,
       steer_orthogonality(d.rej_bin, d.nn, d.qq) AS orth,
       sqrt(d.aa) AS se_raw, steer_miscalibration(d.ar, d.rr) AS mis_raw,
       steer_orthogonality(d.rej_raw, d.mm, d.rr) AS orth_raw,
       steer_orthogonality(d.rej_paper, d.nn, d.rr) AS orth_paper
FROM dots d
JOIN gens g ON g.gen_id = d.gen_id
JOIN probe_sizes s ON s.probe_hash = g.probe_hash;

-- steer_scores under the metrics views' column names: an incomplete answer's metrics NULL.
CREATE OR REPLACE MACRO steer_answer_metrics(by_round) AS TABLE
SELECT gen_id, row_id, sample, round, n_active, incomplete,
       CASE WHEN NOT incomplete THEN se END AS steering_error,
       CASE WHEN NOT incomplete THEN mis END AS miscalibration,
       CASE WHEN NOT incomplete THEN orth END AS orthogonality,
       CASE WHEN NOT incomplete THEN se_raw END AS steering_error_raw,
       CASE WHEN NOT incomplete THEN mis_raw END AS miscalibration_raw,
       CASE WHEN NOT incomplete THEN orth_raw END AS orthogonality_raw,
       CASE WHEN NOT incomplete THEN orth_paper END AS orthogonality_paper
FROM steer_scores(by_round);

-- One row per scored answer (METHOD.md section 4): steer_answer_metrics of `outputs`, with what
-- counts (failed and dropped truncated answers do not), best-of-N picks and groundedness.
CREATE OR REPLACE VIEW metrics AS
WITH gens AS (
    SELECT * FROM current_generations
),
scored AS (
    SELECT d.gen_id, d.row_id, d.sample, d.n_active, coalesce(f.truncated, false) AS truncated,
           d.incomplete, d.steering_error, d.miscalibration, d.orthogonality,
           d.steering_error_raw, d.miscalibration_raw, d.orthogonality_raw,
           d.orthogonality_paper
    FROM steer_answer_metrics(false) d
    JOIN gens g ON g.gen_id = d.gen_id
    LEFT JOIN flagged_calls f ON f.gen_hash = g.gen_hash AND f.row_id = d.row_id
                             AND f.sample = d.sample
    -- as in `answers`: scored answers whose call did not fail, truncated ones unless dropped
    WHERE f.gen_hash IS NULL
       OR NOT (f.failed OR (f.truncated AND g.truncated_policy = 'drop'))
),
picks AS (
    -- best-of-N: the smallest raw steering error (inactive goals' targets = their sources),
    -- ties to the lowest sample; a `select first` intervention keeps its first sample
    SELECT s.gen_id, s.row_id,
           arg_min(s.sample, {'first': CASE WHEN g.select_first THEN s.sample ELSE 0 END,
                              'error': CASE WHEN NOT s.incomplete THEN s.steering_error_raw
                                            ELSE CAST('infinity' AS DOUBLE) END,
                              'sample': s.sample}) AS best
    FROM scored s
    JOIN (SELECT gen_id, coalesce(json_extract_string(settings, '$.intervention.select')
                                  = 'first', false) AS select_first
          FROM gens) g USING (gen_id)
    GROUP BY ALL
)
SELECT g.model, g.intervention, g.probe, g.gen_hash, s.row_id, s.sample, s.n_active,
       s.steering_error, s.miscalibration, s.orthogonality, s.steering_error_raw,
       s.miscalibration_raw, s.orthogonality_raw, s.orthogonality_paper,
       s.sample = p.best AS selected, s.truncated,
       -- only the answers the judge is asked about (candidates); NULL until judged
       CASE WHEN v.gen_hash IS NOT NULL AND (v.candidates = 'all' OR s.sample = p.best)
            THEN steer_grounded(v.verdict, v.decision) END AS grounded
FROM scored s
JOIN picks p USING (gen_id, row_id)
JOIN gens g USING (gen_id)
LEFT JOIN answer_verdicts v ON v.gen_hash = g.gen_hash AND v.row_id = s.row_id
                           AND v.sample = s.sample;

-- The statistics of the summaries, an aggregate: steer_statistics(value) is the struct
-- {n, median, q1, q3, iqr, mean, std, min, max} of a group's values, NULLs left out of n.
-- Quantiles are linear (numpy's default percentile), std is ddof 0. The mean and std are
-- compensated sums (fsum), the std's over the values' deviations from the mean (two passes):
-- avg and stddev_pop add in the order a parallel aggregation meets the values, which changes
-- their last bits from run to run. steer_statistics_of takes the group's list of values,
-- their quartiles and their mean (a macro's way of naming them once).
CREATE OR REPLACE MACRO steer_statistics_of(xs, qs, mean) AS {
    'n': CAST(list_count(xs) AS BIGINT),
    'median': qs[2], 'q1': qs[1], 'q3': qs[3], 'iqr': qs[3] - qs[1],
    'mean': mean,
    'std': sqrt(list_aggregate([steer_square(x - mean) FOR x IN xs], 'fsum')
                / list_count(xs)),
    'min': list_min(xs), 'max': list_max(xs)
};

CREATE OR REPLACE MACRO steer_statistics(value) AS steer_statistics_of(
    list(value), quantile_cont(value, [0.25, 0.5, 0.75]), fsum(value) / count(value)
);

-- Per (model, intervention, metric), over the selected (best-of-N) answers: steer_statistics.
-- grounded_only: a grounded generation's answers count only when grounded (judged, and kept).
CREATE OR REPLACE MACRO steer_summary(grounded_only) AS TABLE
WITH long AS (
    UNPIVOT (
        SELECT model, intervention, steering_error, miscalibration, orthogonality,
               steering_error_raw, miscalibration_raw, orthogonality_raw, orthogonality_paper
        FROM metrics
        WHERE selected
          AND (NOT grounded_only
               OR coalesce(grounded, gen_hash NOT IN (SELECT gen_hash FROM groundings)))
    )
    ON steering_error, miscalibration, orthogonality, steering_error_raw, miscalibration_raw,
       orthogonality_raw, orthogonality_paper
    INTO NAME metric VALUE value
),
stats AS (
    SELECT model, intervention, metric, steer_statistics(value) AS s
    FROM long
    GROUP BY ALL
)
SELECT model, intervention, metric, unnest(s) FROM stats;

-- The headline figures: over selected answers that are grounded (all selected answers of a
-- generation without a judge).
CREATE OR REPLACE VIEW summary AS SELECT * FROM steer_summary(true);

-- The same over every selected answer, grounded or not.
CREATE OR REPLACE VIEW summary_all AS SELECT * FROM steer_summary(false);

-- Per (model, intervention): what the calls cost and how many failed (all samples).
CREATE OR REPLACE VIEW calls_summary AS
SELECT cg.model, cg.intervention, cg.probe, cg.gen_hash,
       count(c.gen_hash) AS calls,
       count(*) FILTER (WHERE c.status = 'ok') AS ok,
       count(*) FILTER (WHERE c.status = 'error') AS errors,
       sum(c.prompt_tokens) AS prompt_tokens,
       sum(c.completion_tokens) AS completion_tokens,
       sum(c.cost) AS cost,
       avg(c.latency_s) AS latency_mean,
       quantile_cont(c.latency_s, 0.95) AS latency_p95,
       count(*) FILTER (WHERE c.status = 'ok' AND steer_truncated(c.finish_reason))
           AS truncated
FROM current_generations cg
LEFT JOIN calls c ON c.gen_hash = cg.gen_hash
GROUP BY ALL;


-- One row per judged answer of the current generations (an answer with verdicts, among the
-- judge's candidates): its verdict combined over the orders, whether a person must look at
-- it, what they decided, and whether it counts. The spot check: the first `spot_check` "yes"
-- answers of the generation in the order of md5(gen_hash:row_id:sample), drawn anew as
-- verdicts arrive, fixed once the generation is judged.
CREATE OR REPLACE VIEW grounding AS
WITH judged AS (
    SELECT m.model, m.intervention, m.gen_hash, m.row_id, m.sample, v.verdict, v.rationale,
           v.parsed, v.decision, m.grounded, v.judge, v.judge_id, v.source_hash, v.answer_hash,
           v.spot_check
    FROM metrics m
    JOIN answer_verdicts v USING (gen_hash, row_id, sample)
    WHERE m.grounded IS NOT NULL
),
spot AS (
    SELECT gen_hash, row_id, sample,
           row_number() OVER (PARTITION BY gen_hash ORDER BY
               md5(gen_hash || ':' || CAST(row_id AS VARCHAR) || ':' || CAST(sample AS VARCHAR)),
               row_id, sample) AS draw
    FROM judged
    WHERE verdict = 'yes'
)
SELECT j.model, j.intervention, j.gen_hash, j.row_id, j.sample, j.verdict, j.rationale,
       j.parsed,
       j.verdict IS DISTINCT FROM 'yes' OR coalesce(s.draw <= j.spot_check, false)
           AS needs_review,
       j.decision, j.grounded, j.judge, j.judge_id, j.source_hash, j.answer_hash
FROM judged j
LEFT JOIN spot s USING (gen_hash, row_id, sample);

-- Per grounded model x intervention: what the judge and the reviewers did. not_judged: the
-- judge's candidates still without a verdict (judging incomplete).
CREATE OR REPLACE VIEW grounding_summary AS
WITH candidates AS (
    SELECT m.gen_hash, count(*) FILTER (WHERE m.grounded IS NULL) AS not_judged
    FROM metrics m
    JOIN groundings gr USING (gen_hash)
    WHERE gr.candidates = 'all' OR m.selected
    GROUP BY ALL
)
SELECT cg.model, cg.intervention, gr.judge, cg.gen_hash,
       count(g.gen_hash) AS judged,
       count(*) FILTER (WHERE g.verdict = 'no') AS flagged,
       count(*) FILTER (WHERE g.gen_hash IS NOT NULL AND g.verdict IS NULL) AS unparsed,
       count(*) FILTER (WHERE g.needs_review AND g.decision IS NULL) AS awaiting_review,
       count(*) FILTER (WHERE (g.verdict = 'yes' AND g.decision = 'reject')
                           OR (g.verdict = 'no' AND g.decision = 'approve')) AS overruled,
       count(*) FILTER (WHERE NOT g.grounded) AS dropped,
       coalesce(any_value(c.not_judged), 0) AS not_judged
FROM current_generations cg
JOIN groundings gr ON gr.gen_hash = cg.gen_hash
LEFT JOIN grounding g ON g.gen_hash = cg.gen_hash
LEFT JOIN candidates c ON c.gen_hash = cg.gen_hash
GROUP BY cg.model, cg.intervention, gr.judge, cg.gen_hash;

-- The training logs of the current plan's train stages, one row per (step, logged value).
CREATE OR REPLACE VIEW training AS
SELECT c.stage AS train_stage,
       split_part(split_part(c.stage, ':', 2), '/', 1) AS model,
       split_part(split_part(c.stage, ':', 2), '/', 2) AS intervention,
       l.step, l.name, l.value
FROM train_log l
JOIN current c ON c.stage_hash = l.train_hash
WHERE c.stage LIKE 'train:%';

-- Calibrated requests (docs/method.md): the current calibrate stages that have a fit.
CREATE OR REPLACE VIEW calibration_stages AS
SELECT DISTINCT calib_hash, model, intervention
FROM calibration_fits
WHERE calib_hash IN (SELECT stage_hash FROM current);

-- Their fits, per goal, direction and word bucket.
CREATE OR REPLACE VIEW calibration AS
SELECT f.model, f.intervention, f.goal, f.direction, f.words, f.asked, f.predicted, f.points,
       f.calib_hash
FROM calibration_fits f
WHERE f.calib_hash IN (SELECT stage_hash FROM current);

-- Their side effects: effect moves by about coefficient * delta when cause is asked for delta.
CREATE OR REPLACE VIEW calibration_side_effects AS
SELECT s.model, s.intervention, e.cause, e.effect, e.coefficient, e.points, e.calib_hash
FROM calibration_effects e JOIN calibration_stages s USING (calib_hash);

-- The observations the current fits are made of: requested versus realized movement of the
-- uncalibrated prompt on the calibration probe.
CREATE OR REPLACE VIEW calibration_observations AS
SELECT s.model, s.intervention, p.row_id, p.sample, p.goal, p.requested, p.realized, p.fitted,
       p.calib_hash
FROM calibration_points p JOIN calibration_stages s USING (calib_hash);

-- What the current calibrated generations asked, per probe row and goal.
CREATE OR REPLACE VIEW calibrated_requests AS
SELECT cg.model, cg.intervention, cg.probe, r.gen_hash, r.row_id, r.goal, r.requested, r.asked,
       r.words, r.predicted
FROM current_generations cg
JOIN calibration_requests r ON r.gen_hash = cg.gen_hash;
