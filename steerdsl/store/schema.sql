-- The store's tables. A public interface (docs/sql.md): add columns and tables, never rename.
-- Keys are content hashes from the plan (stage hashes) so results of different spec versions
-- live side by side; `current` says which ones the latest run of the spec uses.

CREATE TABLE IF NOT EXISTS meta (
    key VARCHAR PRIMARY KEY,
    value VARCHAR
);

CREATE TABLE IF NOT EXISTS runs (
    run_id VARCHAR PRIMARY KEY,
    plan_hash VARCHAR,          -- Plan.spec_hash
    spec_path VARCHAR,
    plan JSON,                  -- the whole plan (never holds secrets)
    versions JSON,              -- library versions of the process that ran
    started_at TIMESTAMP,
    finished_at TIMESTAMP,
    status VARCHAR              -- 'running'; 'ok' (everything asked was done); 'incomplete'
                                -- (some calls failed: error rows); 'failed' (an error, or a model
                                -- given up as unreachable); 'budget'; 'interrupted'
);
-- The process that ran it: a writer that opens the store marks runs of other processes still
-- 'running' as 'interrupted' (they ended without saying so: SIGKILL, a crash).
ALTER TABLE runs ADD COLUMN IF NOT EXISTS pid INTEGER;
ALTER TABLE runs ADD COLUMN IF NOT EXISTS host VARCHAR;
-- Where the run computed built-in measures: 'local (N processes)' or 'ray ADDRESS (N actors)'.
ALTER TABLE runs ADD COLUMN IF NOT EXISTS executor VARCHAR;

-- Each stage a run ran (not skipped), with its throughput: items / seconds.
CREATE TABLE IF NOT EXISTS stage_runs (
    run_id VARCHAR,
    stage VARCHAR,              -- Stage.id
    stage_hash VARCHAR,
    seconds DOUBLE,             -- wall time of the stage in this run
    items BIGINT,               -- texts measured (measure, score: cached ones included) or
                                -- model calls made (generate, judge); NULL for other kinds
    unit VARCHAR,               -- 'texts' | 'calls'; NULL for other kinds
    finished_at TIMESTAMP
);
-- CPU seconds this machine spent on the stage: the run's process and the measuring processes it
-- started (not a Ray cluster's); cpu_seconds / seconds is the number of cores kept busy.
-- NULL in runs of older versions.
ALTER TABLE stage_runs ADD COLUMN IF NOT EXISTS cpu_seconds DOUBLE;

-- A stage whose hash is here finished completely; it is never done again.
CREATE TABLE IF NOT EXISTS stages_done (
    stage_hash VARCHAR PRIMARY KEY,
    stage VARCHAR,              -- Stage.id
    finished_at TIMESTAMP,
    info JSON
);

-- Which stage hashes the latest run (or import) uses, per stage id; the views follow it.
CREATE TABLE IF NOT EXISTS current (
    stage VARCHAR PRIMARY KEY,  -- Stage.id, e.g. 'probe:steerbench', 'generate:llama/direct'
    stage_hash VARCHAR
);

-- Content-addressed texts: sources, answers. text_hash = sha256 of the UTF-8 text, hex.
CREATE TABLE IF NOT EXISTS texts (
    text_hash VARCHAR PRIMARY KEY,
    text VARCHAR NOT NULL
);

-- The measurement cache, shared by every run of every spec using this store.
CREATE TABLE IF NOT EXISTS measurements (
    text_hash VARCHAR,
    measure_id VARCHAR,         -- GoalPlan.measure_id
    raw DOUBLE,                 -- NULL when error is set
    error VARCHAR,
    PRIMARY KEY (text_hash, measure_id)
);

CREATE TABLE IF NOT EXISTS measures (
    measure_id VARCHAR PRIMARY KEY,
    definition JSON,            -- GoalPlan.measure
    versions JSON
);

-- The texts of a corpus after reading and filtering, in order.
CREATE TABLE IF NOT EXISTS corpus_texts (
    corpus_hash VARCHAR,        -- hash of stage corpus:NAME
    position INTEGER,
    text_id VARCHAR,            -- file:row (or file:row:chunk) of the text, for error messages
    label VARCHAR,
    text_hash VARCHAR,
    PRIMARY KEY (corpus_hash, position)
);

-- The goal space in effect: normalization bounds resolved (quantiles computed).
CREATE TABLE IF NOT EXISTS goal_space (
    space_hash VARCHAR,         -- hash of stage 'space'
    position INTEGER,
    goal VARCHAR,
    measure_id VARCHAR,
    lo DOUBLE,
    hi DOUBLE,
    PRIMARY KEY (space_hash, goal)
);

CREATE TABLE IF NOT EXISTS probes (
    probe_hash VARCHAR PRIMARY KEY,
    name VARCHAR,
    space_hash VARCHAR,
    n_rows INTEGER,
    auc DOUBLE,                 -- density-ratio classifier AUC; NULL when unweighted/imported
    info JSON
);

CREATE TABLE IF NOT EXISTS probe_rows (
    probe_hash VARCHAR,
    row_id INTEGER,             -- 0-based
    text_hash VARCHAR,
    text_id VARCHAR,
    PRIMARY KEY (probe_hash, row_id)
);

-- A drawn probe row's sampling weight: the density-ratio weight of its source, scaled so an
-- average usable source weighs 1 (unweighted probes: 1); NULL for imported probes (and
-- probes stored before the column existed). Training uses it (steerdsl export-train).
ALTER TABLE probe_rows ADD COLUMN IF NOT EXISTS weight DOUBLE;

-- One row per (probe row, goal). delta and target are NULL for inactive goals.
CREATE TABLE IF NOT EXISTS probe_goals (
    probe_hash VARCHAR,
    row_id INTEGER,
    goal VARCHAR,
    source_raw DOUBLE,
    source DOUBLE,
    delta DOUBLE,
    target DOUBLE,
    PRIMARY KEY (probe_hash, row_id, goal)
);

-- One per generate stage (model x intervention).
CREATE TABLE IF NOT EXISTS generations (
    gen_hash VARCHAR PRIMARY KEY,
    model VARCHAR,
    intervention VARCHAR,
    probe_hash VARCHAR,
    settings JSON               -- model + intervention + prompt plans (no secrets)
);

-- Every LLM call's outcome, one row per sample. Written in batches as answers arrive; a row
-- with status 'ok' is never requested again.
CREATE TABLE IF NOT EXISTS calls (
    gen_hash VARCHAR,
    row_id INTEGER,
    sample INTEGER,             -- 0-based; best-of-N candidates are samples 0..N-1
    prompt VARCHAR,
    raw_answer VARCHAR,
    answer VARCHAR,             -- cleaned (chatty prefix and <think> blocks removed)
    answer_hash VARCHAR,        -- texts.text_hash of answer
    status VARCHAR,             -- 'ok' | 'error'
    error VARCHAR,
    prompt_tokens INTEGER,
    completion_tokens INTEGER,
    cost DOUBLE,                -- USD from litellm's offline cost map; NULL when unknown
    latency_s DOUBLE,
    attempts INTEGER,
    finished_at TIMESTAMP,
    PRIMARY KEY (gen_hash, row_id, sample)
);

-- The kind of a failed call's error (steerdsl.llm.completion.CallFailed: 'connection',
-- 'timeout', 'server', 'malformed', 'rate_limit', 'context', 'fatal', 'retry'), and the
-- seconds the server says it spent on an answer (llama.cpp's `timings`, OpenAI's
-- openai-processing-ms header; NULL when it does not say): latency_s - server_s is the time
-- spent queueing and on the network.
ALTER TABLE calls ADD COLUMN IF NOT EXISTS error_kind VARCHAR;
ALTER TABLE calls ADD COLUMN IF NOT EXISTS server_s DOUBLE;

-- Per-goal values of each answer (normalized with the probe's goal space).
CREATE TABLE IF NOT EXISTS outputs (
    gen_hash VARCHAR,
    row_id INTEGER,
    sample INTEGER,
    goal VARCHAR,
    raw DOUBLE,
    value DOUBLE,
    PRIMARY KEY (gen_hash, row_id, sample, goal)
);

-- Why the model stopped, as litellm reports it ('stop', 'length', ...; NULL for calls stored
-- before it was recorded and for errors). 'length' = cut off at max_tokens or the context:
-- a truncated answer.
ALTER TABLE calls ADD COLUMN IF NOT EXISTS finish_reason VARCHAR;
-- The api_base of the deployment that answered (a model with deployments); NULL otherwise.
ALTER TABLE calls ADD COLUMN IF NOT EXISTS deployment VARCHAR;

-- How the answers of a generation are scored, as the latest run's score stage set it (the
-- spec's `truncated score|drop`). No row: 'score'.
CREATE TABLE IF NOT EXISTS scorings (
    gen_hash VARCHAR PRIMARY KEY,
    truncated VARCHAR           -- 'score' (scored, flagged) | 'drop' (left out of the metrics)
);

-- What an endpoint was seen to do with a request parameter, so later runs plan for it (a
-- server that ignores `n` is asked one sample per request from the start).
CREATE TABLE IF NOT EXISTS model_capabilities (
    model_key VARCHAR,          -- litellm model id, and ' @ ' api_base when one is set
    param VARCHAR,              -- 'n'
    honoured BOOLEAN,
    observed_at TIMESTAMP,
    PRIMARY KEY (model_key, param)
);

-- Every LLM-judge request that got an answer, and what it cost: judged goals count toward the
-- budget like generations. Appended (a text judged again, e.g. with --retry-errors, adds a row);
-- the values themselves are in `measurements`.
CREATE TABLE IF NOT EXISTS judge_calls (
    measure_id VARCHAR,         -- GoalPlan.measure_id of the judged goal
    text_hash VARCHAR,          -- texts.text_hash of the judged text
    model VARCHAR,              -- the spec's name of the judge model
    prompt_tokens INTEGER,
    completion_tokens INTEGER,
    cost DOUBLE,                -- USD (declared price, else litellm's offline cost map); NULL
                                -- when unknown
    latency_s DOUBLE,
    judged_at TIMESTAMP
);
-- the api_base of the deployment that answered, for a model with deployments (NULL otherwise)
ALTER TABLE judge_calls ADD COLUMN IF NOT EXISTS deployment VARCHAR;

-- Groundedness verdicts, cached by what decides them: the judge's identity (its stage content
-- without the generation: steerdsl.stages.judge), the source text and the answer text. One row
-- per question asked: `order random` asks once (with A/B drawn from the seed), `order both`
-- asks twice (swapped false and true). A rerun or a second spec with the same judge asks
-- nothing twice.
CREATE TABLE IF NOT EXISTS verdicts (
    judge_id VARCHAR,
    source_hash VARCHAR,        -- texts.text_hash of the probe row's source text
    answer_hash VARCHAR,        -- texts.text_hash of the answer (calls.answer_hash)
    swapped BOOLEAN,            -- the answer was shown as version A (the source as B)
    status VARCHAR,             -- 'ok' (the judge answered) | 'error' (the request failed)
    verdict VARCHAR,            -- 'yes' | 'no' | NULL: not parsed (or the request failed)
    rationale VARCHAR,
    raw VARCHAR,                -- the judge's answer as it came
    error VARCHAR,
    error_kind VARCHAR,         -- the failed request's error kind (as calls.error_kind)
    attempts INTEGER,           -- requests sent for the verdict, retries included
    prompt_tokens INTEGER,
    completion_tokens INTEGER,
    cost DOUBLE,                -- USD; NULL when unknown
    judged_at TIMESTAMP,
    PRIMARY KEY (judge_id, source_hash, answer_hash, swapped)
);
-- the api_base of the deployment that answered, for a judge model with deployments
ALTER TABLE verdicts ADD COLUMN IF NOT EXISTS deployment VARCHAR;

-- Which judge grounds a generation's answers, as the latest run's judge stage set it (the
-- spec's `evaluate { grounding J }`); no row: the generation is not grounded (NULL columns).
CREATE TABLE IF NOT EXISTS groundings (
    gen_hash VARCHAR PRIMARY KEY,
    judge VARCHAR,              -- the judge's name in the spec
    judge_id VARCHAR,           -- verdicts.judge_id
    candidates VARCHAR,         -- 'selected' | 'all'
    spot_check INTEGER          -- "Yes" verdicts of this generation drawn for review
);

-- A person's decisions on verdicts (steerdsl review), written the moment they are made. Keyed
-- like the verdicts they decide, so a decision holds wherever the same judge meets the same
-- pair of texts. The latest decision counts.
CREATE TABLE IF NOT EXISTS reviews (
    judge_id VARCHAR,
    source_hash VARCHAR,
    answer_hash VARCHAR,
    decision VARCHAR,           -- 'approve' (grounded) | 'reject' (not grounded)
    decided_at TIMESTAMP,
    note VARCHAR,
    PRIMARY KEY (judge_id, source_hash, answer_hash)
);

-- `steerdsl validate-goals`: a judge's answers to "which version is ...?" about two texts,
-- cached by what decides them (the judge's identity: steerdsl.goals.validation.judge_identity,
-- the question, and the two texts in the order shown), so a rerun asks nothing twice. A failed
-- request (status 'error') is asked again by the next run; an unparsed answer is not.
CREATE TABLE IF NOT EXISTS validation_answers (
    judge_id VARCHAR,
    question VARCHAR,
    hash_a VARCHAR,             -- texts.text_hash of the text shown as version A
    hash_b VARCHAR,             -- and as version B
    judge VARCHAR,              -- the spec's name of the judge model (when asked)
    status VARCHAR,             -- 'ok' (answered) | 'error' (the request failed)
    answer VARCHAR,             -- 'a' | 'b' | 'tie' | NULL: not parsed (or the request failed)
    raw VARCHAR,                -- the judge's answer as it came
    error VARCHAR,
    prompt_tokens INTEGER,
    completion_tokens INTEGER,
    cost DOUBLE,                -- USD; NULL when unknown
    asked_at TIMESTAMP,
    PRIMARY KEY (judge_id, question, hash_a, hash_b)
);

-- One row per goal per `steerdsl validate-goals` run: Kendall's tau-b between the judge's
-- answers (A = +1, B = -1, Tie = 0) and the sign of the goal's normalized difference A - B
-- (|difference| < 0.1 = 0), over the pairs with a parsed answer.
CREATE TABLE IF NOT EXISTS goal_validations (
    run_at TIMESTAMP,
    spec_hash VARCHAR,
    judge VARCHAR,              -- the spec's name of the judge model
    judge_id VARCHAR,           -- validation_answers.judge_id
    goal VARCHAR,
    measure_id VARCHAR,
    question VARCHAR,
    pairs INTEGER,              -- drawn
    answered INTEGER,           -- parsed answers with values of both texts: tau's sample
    unparsed INTEGER,           -- answered, but not A, B or Tie
    missing INTEGER,            -- no answer (request failed or not sent) or a text without value
    judge_ties INTEGER,         -- "Tie" answers
    goal_ties INTEGER,          -- |normalized difference| < 0.1, among the answered
    tau DOUBLE                  -- NULL when undefined (fewer than two answers, or no variation)
);

-- What a fine-tune's training logged, step by step (TRL's log keys: 'loss', 'kl', 'reward',
-- 'reward_std', 'rewards/<reward>/mean', 'rewards/<reward>/std', 'learning_rate', ...).
-- Written as training goes; steps redone after resuming from a checkpoint replace theirs.
CREATE TABLE IF NOT EXISTS train_log (
    train_hash VARCHAR,         -- the train stage's hash
    step INTEGER,               -- optimizer step, from 1
    name VARCHAR,
    value DOUBLE,
    run_id VARCHAR,             -- the run that logged it
    logged_at TIMESTAMP,
    PRIMARY KEY (train_hash, step, name)
);

-- The finished adapter of each train stage: a LoRA adapter folder beside the store.
CREATE TABLE IF NOT EXISTS adapters (
    train_hash VARCHAR PRIMARY KEY,
    model VARCHAR,              -- the base model's name in the spec
    intervention VARCHAR,
    path VARCHAR,               -- the adapter folder (absolute)
    steps INTEGER,
    seconds DOUBLE,             -- training time, summed over runs
    versions JSON,              -- torch, transformers, trl, peft
    created_at TIMESTAMP
);

-- Provider batch jobs of `batch on` models (steerdsl.stages.batch_jobs): of generate stages,
-- of judge stages and of judged goals. A job's row is written as soon as its request file is
-- uploaded, and its batch id as soon as the provider accepts the batch: a killed run's rerun
-- polls the same jobs, never resubmits.
CREATE TABLE IF NOT EXISTS batch_jobs (
    gen_hash VARCHAR,           -- the owner: the generate stage's gen_hash (kind 'generate'),
                                -- the judge's judge_id ('judge'), the goal's measure_id ('goal')
    file_id VARCHAR PRIMARY KEY,  -- the uploaded JSONL of requests
    job_id VARCHAR,             -- the provider's batch id; NULL until the batch is accepted
    provider VARCHAR,           -- litellm's custom_llm_provider
    status VARCHAR,             -- the provider's ('validating', 'in_progress', 'completed',
                                -- 'failed', 'expired', 'cancelled', ...); 'uploaded' before
    requests INTEGER,
    submitted_at TIMESTAMP,
    finished_at TIMESTAMP,      -- set when its results are stored (calls, verdicts, ...)
    output_file_id VARCHAR,
    error_file_id VARCHAR,
    info JSON                   -- the provider's request counts and errors, as last seen
);
-- 'generate' | 'judge' | 'goal'; NULL: a generate stage's job stored before kinds existed
ALTER TABLE batch_jobs ADD COLUMN IF NOT EXISTS kind VARCHAR;

-- Each request of a batch job: its custom id (unique within its owner) and what it answers.
-- Results are matched to requests by custom id.
CREATE TABLE IF NOT EXISTS batch_requests (
    gen_hash VARCHAR,           -- batch_jobs.gen_hash: the owner
    custom_id VARCHAR,
    file_id VARCHAR,            -- batch_jobs.file_id
    row_id INTEGER,             -- a generate request's probe row and sample (NULL for others)
    sample INTEGER,
    PRIMARY KEY (gen_hash, custom_id)
);
-- What the request answers, as its owner keys it: 'ROW:SAMPLE' (generate), 'SOURCE_HASH:
-- ANSWER_HASH:SWAPPED' (judge), the text's hash (goal); NULL: stored before this column
ALTER TABLE batch_requests ADD COLUMN IF NOT EXISTS item VARCHAR;

-- Calibrated requests (docs/method.md, "Calibrated requests"). A calibrate stage's answers to
-- its calibration probe are `calls` under its hash (calib_hash); the fit made of them is here.
-- Per (row, sample, goal) of those answers: the row's delta (NULL: the goal was not asked to
-- move), the realized movement (normalized answer - source; NULL: not measured), and the
-- monotone fit's value at the delta (NULL for goals not asked).
CREATE TABLE IF NOT EXISTS calibration_points (
    calib_hash VARCHAR,
    row_id INTEGER,
    sample INTEGER,
    goal VARCHAR,
    requested DOUBLE,
    realized DOUBLE,
    fitted DOUBLE,
    PRIMARY KEY (calib_hash, row_id, sample, goal)
);

-- Per goal, direction and word bucket of the prompt: the delta that says the bucket's words
-- (`asked`, the bucket's middle), the movement the fit predicts for them, and how many
-- observations were asked with those words.
CREATE TABLE IF NOT EXISTS calibration_fits (
    calib_hash VARCHAR,
    model VARCHAR,
    intervention VARCHAR,
    goal VARCHAR,
    direction INTEGER,          -- +1 up, -1 down
    words VARCHAR,              -- the modifier ('' = none)
    lo DOUBLE,                  -- the bucket: lo <= |delta| <= hi
    hi DOUBLE,
    asked DOUBLE,
    predicted DOUBLE,
    points INTEGER,
    PRIMARY KEY (calib_hash, goal, direction, words, lo)
);

-- Side effects: `effect` moves by about coefficient * delta when `cause` is asked to move by
-- delta and `effect` is not asked to move (least squares through the origin).
CREATE TABLE IF NOT EXISTS calibration_effects (
    calib_hash VARCHAR,
    cause VARCHAR,
    effect VARCHAR,
    coefficient DOUBLE,
    points INTEGER,
    PRIMARY KEY (calib_hash, cause, effect)
);

-- What a calibrated generation asked, per probe row and goal: a move (requested = the
-- probe's delta, asked = the delta put in the prompt, words = its intent, predicted = the
-- fit's movement; NULL when the goal had no fit and was asked as drawn), or a keep (requested
-- and asked NULL, words "keep GOAL unchanged", predicted = the side effect expected).
CREATE TABLE IF NOT EXISTS calibration_requests (
    gen_hash VARCHAR,
    row_id INTEGER,
    goal VARCHAR,
    requested DOUBLE,
    asked DOUBLE,
    words VARCHAR,
    predicted DOUBLE,
    PRIMARY KEY (gen_hash, row_id, goal)
);

-- Closed-loop feedback (`feedback N rounds`, docs/method.md): every round of every answer's
-- conversation. Round 0 is the plain answer (a copy of its first `calls` row); round r >= 1 is
-- the revision asked for with `prompt`, the feedback message. A round stored 'ok' is never
-- requested again. The answer the round's conversation ends with is also in `calls` (its
-- answer columns are the last ok round's; its tokens and cost add up every round).
CREATE TABLE IF NOT EXISTS feedback_rounds (
    gen_hash VARCHAR,
    row_id INTEGER,
    sample INTEGER,
    round INTEGER,              -- 0: the first answer; r: the r-th revision
    prompt VARCHAR,             -- the user message of this round (round 0: the probe prompt)
    raw_answer VARCHAR,
    answer VARCHAR,             -- cleaned, as calls.answer
    answer_hash VARCHAR,        -- texts.text_hash of answer
    status VARCHAR,             -- 'ok' | 'error'
    error VARCHAR,
    error_kind VARCHAR,
    prompt_tokens INTEGER,
    completion_tokens INTEGER,
    cost DOUBLE,
    latency_s DOUBLE,
    attempts INTEGER,
    finish_reason VARCHAR,
    finished_at TIMESTAMP,
    PRIMARY KEY (gen_hash, row_id, sample, round)
);

-- Per-goal values of each round's answer (normalized with the space), written by the loop
-- when it measures the answer to decide on the next round.
CREATE TABLE IF NOT EXISTS feedback_outputs (
    gen_hash VARCHAR,
    row_id INTEGER,
    sample INTEGER,
    round INTEGER,
    goal VARCHAR,
    raw DOUBLE,
    value DOUBLE,
    PRIMARY KEY (gen_hash, row_id, sample, round, goal)
);
