"""Short documentation of the language's blocks, settings and built-in prompts, in one place:
what an editor shows on hover and beside a completion (steerdsl.lsp). docs/language.md is
the full reference; these lines summarize it.

Settings are grouped by where they are written: a block kind, or a part of a block that has
its own settings (`read` in a corpus, `deployment` in a model, `reward` and `lora` in an
intervention, a goal's measure in `goals`). tests/test_lang_docs.py checks that every keyword
of the grammar is documented here (or is a value word), so a new setting cannot be forgotten.
"""

from __future__ import annotations

BLOCKS: dict[str, str] = {
    "experiment": "`experiment NAME { seed N  store \"PATH\"  budget X }`: the experiment's "
                  "name, its seed and where its results are stored. Exactly one per spec.",
    "corpus": "`corpus NAME { read \"PATH|GLOB\" ... }`: the texts a probe draws its sources "
              "from.",
    "goals": "`goals { NAME = MEASURE [normalize ...] }`: the goal space, one goal per "
             "line. At most one per spec.",
    "probe": "`probe NAME from CORPUS { sources N  requests M per source  active K  delta "
             "A..B }`: the requests a model is asked to carry out; or `probe NAME from csv "
             "\"FILE\"`.",
    "model": "`model NAME { litellm \"PROVIDER/MODEL\" | local \"smollm2\" | hf \"ID\" ... }`: "
             "a model to evaluate or to judge with.",
    "prompt": "`prompt NAME [extends BASE] { template ...  phrase ...  modifiers ... }`: a "
              "custom prompt, overriding what it sets of its base (default `direct`).",
    "intervention": "`intervention NAME { prompt NAME ... }`: how a model is asked (a prompt "
                    "and its sampling) or fine-tuned (`finetune grpo`).",
    "judge": "`judge NAME { model MODEL  prompt groundedness }`: an LLM judge of "
             "groundedness, named by `evaluate { grounding NAME }`.",
    "evaluate": "`evaluate { probe NAME  models a, b  interventions c, d }`: every model "
                "runs every intervention on the probe. At most one per spec.",
}

SAMPLING: dict[str, str] = {
    "temperature": "`temperature X`: sampling temperature, 0 .. 2.",
    "top_p": "`top_p X`: nucleus sampling, 0 .. 1.",
    "min_p": "`min_p X`: min-p sampling, 0 .. 1.",
    "max_tokens": "`max_tokens N`: the most tokens an answer may have, >= 1.",
    "truncated": "`truncated score|drop`: answers cut off at `max_tokens` are scored and "
                 "flagged (`score`, the default) or left out of the metrics (`drop`).",
}
API_KEY = ("`api_key env VARIABLE`: the API key is read from this environment variable at run "
           "time (a key written in the spec is an error).")

SETTINGS: dict[str, dict[str, str]] = {
    "experiment": {
        "seed": "`seed N`: every random choice derives from it; a whole number, default 0.",
        "store": "`store \"PATH\"`: the DuckDB file of results (default `runs/NAME.duckdb`), "
                 "relative to the spec's folder.",
        "budget": "`budget X`: spending limit in US dollars, > 0.",
        "executor": "`executor ray \"ADDRESS\"`: measure and score on a Ray cluster (`auto`, "
                    "`HOST:PORT` or `ray://HOST:PORT`); `run --ray` overrides it. Part of no "
                    "hash.",
    },
    "corpus": {
        "read": "`read \"PATH|GLOB\" [text \"COL\"] [label \"COL\"]`: texts from files (.csv, "
                ".jsonl, .json, .parquet, .txt), relative to the spec's folder; repeatable.",
        "keep": "`keep words A..B`: keep texts of A to B words.",
        "dedupe": "`dedupe`: drop repeated texts.",
        "chunk": "`chunk N sentences`: split long texts into paragraphs of N sentences.",
    },
    "read": {
        "text": "`text \"COL\"`: the column holding the text (default `text`).",
        "label": "`label \"COL\"`: a column of labels, kept with each text.",
    },
    "goals": {
        "python": "`python \"module:function\" [timeout SECONDS]`: a function str -> float, "
                  "looked up in the spec's folder first.",
        "timeout": "`timeout SECONDS`: bounds one call of a Python measure (default 60).",
        "judge": "`judge MODEL rubric \"...\" scale A..B`: a declared model rates the text; "
                 "the first number of its answer is the value.",
        "rubric": "`rubric \"...\"`: what the judge model is asked about the text.",
        "scale": "`scale A..B`: the judge's scale (also the goal's default normalization).",
        "normalize": "`normalize LO..HI` or `normalize quantile A%..B% of CORPUS`: maps the "
                     "raw value into [0, 1].",
        "quantile": "`quantile A%..B% of CORPUS`: bounds from percentiles of the goal's raw "
                    "values over a corpus.",
        "of": "`of CORPUS`: the corpus whose values give the quantile bounds.",
        "question": "`question \"Which version is ...?\"`: what `steerdsl validate-goals` asks "
                    "a judge about two versions.",
    },
    "probe": {
        "from": "`from CORPUS` (or `from csv \"FILE\"`): where the probe's source texts come "
                "from.",
        "csv": "`csv \"FILE\"`: a probe read from a CSV file in the reference tool's layout.",
        "sources": "`sources N [weighted uniform | unweighted]`: source texts drawn without "
                   "replacement (default weighted toward uniform coverage of the goal space).",
        "weighted": "`weighted uniform`: reweight the draw toward uniform coverage of the goal "
                    "space.",
        "unweighted": "`unweighted`: draw sources uniformly from the corpus.",
        "requests": "`requests M per source`: requests per source text.",
        "active": "`active K` or `active A..B`: goals requested to move per row.",
        "delta": "`delta MIN..MAX [deadzone Z]`: requested changes in normalized units "
                 "(default `-0.7..0.7 deadzone 0.1`).",
        "deadzone": "`deadzone Z`: no requested change is smaller than Z, 0 <= Z < 0.5.",
        "goals": "`goals a, b`: the goals this probe may move (default all).",
        "exclude": "`exclude a, b`: probes whose source texts this one never draws.",
    },
    "model": {
        "litellm": "`litellm \"PROVIDER/MODEL\"`: a model called through litellm.",
        "local": "`local \"smollm2\"`: the built-in offline model (SmolLM2-135M-Instruct).",
        "hf": "`hf \"ID-OR-PATH\"`: transformers weights in process (a cached Hugging Face id "
              "or a checkpoint folder).",
        "api_base": "`api_base \"URL\"`: the server's address (e.g. a local vLLM).",
        "api_key": API_KEY,
        **SAMPLING,
        "concurrency": "`concurrency N`: requests in flight (default 8).",
        "rpm": "`rpm N`: requests per minute (default unlimited).",
        "tpm": "`tpm N`: tokens per minute (default unlimited).",
        "timeout": "`timeout S`: seconds per request (default 120).",
        "retries": "`retries N`: retries of a failed request, 0 .. 100 (default 5).",
        "price": "`price in X out Y`: US dollars per million input and output tokens; what "
                 "the budget counts for this model.",
        "route": "`route least_busy|shuffle`: how requests are spread over the deployments.",
        "batch": "`batch on|off`: send the generate requests as provider batch jobs (cheaper, "
                 "slower).",
        "deployment": "`deployment { api_base \"URL\"  api_key env VAR  rpm N  tpm N }`: one "
                      "of several servers of the same model; repeatable.",
    },
    "deployment": {
        "api_base": "`api_base \"URL\"`: this deployment's server (required).",
        "api_key": API_KEY,
        "rpm": "`rpm N`: this deployment's requests per minute.",
        "tpm": "`tpm N`: this deployment's tokens per minute.",
    },
    "prompt": {
        "extends": "`extends BASE`: the prompt this one overrides (a built-in or custom "
                   "prompt; default `direct`).",
        "template": "`template \"...\"`: the user message; placeholders {requests}, {suffix} "
                    "and {text} (required).",
        "phrase": "`phrase GOAL up \"...\" down \"...\"`: how to ask for a goal to go up / "
                  "down.",
        "modifiers": "`modifiers WORD above X, WORD below Y`: words put before a phrase when "
                     "abs(delta) is above / below a threshold.",
    },
    "intervention": {
        "prompt": "`prompt NAME`: a built-in (direct, underspecified, cot) or custom prompt "
                  "(default direct).",
        "negative": "`negative`: append the negative prompt (\"You MUST not change anything "
                    "else ...\").",
        "no_explain": "`no_explain on|off`: append \"Respond with only the rewritten text\" "
                      "(default on).",
        "sample": "`sample N`: N answers per request (best-of-N; default 1).",
        "select": "`select nearest|first`: which sample is kept (default nearest).",
        **SAMPLING,
        "feedback": "`feedback N rounds [template \"\"\"...{feedback}...\"\"\"]`: closed-loop "
                    "feedback: measure each answer and, when a goal misses its target, say so "
                    "in the same conversation and ask for a revision, at most N (1 to 10) "
                    "times.",
        "calibrate": "`calibrate on PROBE`: calibrated requests: fit on PROBE how far the model "
                     "moves each goal when asked, then ask for what lands on the target.",
        "finetune": "`finetune grpo`: makes the intervention a fine-tune (GRPO with LoRA).",
        "on": "`on PROBE`: the fine-tune's training probe (a sampled probe, not the evaluated "
              "one).",
        "reward": "`reward METRIC [GOAL] [weight W] ...`: one training reward: steering_error, "
                  "miscalibration, orthogonality or error GOAL.",
        "lora": "`lora r N alpha A dropout D`: the adapter's shape (default r 16 alpha 32 "
                "dropout 0.05).",
        "steps": "`steps N`: optimizer steps (default 200).",
        "generations": "`generations G`: completions per prompt, GRPO's group, >= 2 "
                       "(default 8).",
        "batch": "`batch B`: completions per training step, a multiple of generations "
                 "(default 8).",
        "learning_rate": "`learning_rate X`: > 0 (default 1e-6).",
        "beta": "`beta X`: KL coefficient, >= 0 (default 0).",
        "max_completion": "`max_completion N`: tokens per training completion (default 256).",
        "train_temperature": "`train_temperature X`: sampling temperature during training "
                             "(default 1.0).",
        "save_every": "`save_every N`: steps between checkpoints (default 25).",
        "serve": "`serve \"URL\"`: answer through an OpenAI-compatible server that serves the "
                 "adapter, instead of in process.",
    },
    "reward": {
        "weight": "`weight W`: this reward's weight in the sum, > 0 (default 1).",
        "good_enough": "`good_enough T`: errors below T count as T, 0 .. 1.",
        "decile": "`decile`: errors round up to the next tenth.",
        "squared": "`squared`: the sum of squares, not rooted (steering_error only).",
    },
    "lora": {
        "r": "`r N`: the adapter's rank, >= 1.",
        "alpha": "`alpha A`: LoRA's scaling, > 0.",
        "dropout": "`dropout D`: 0 <= D < 1.",
    },
    "judge": {
        "model": "`model NAME`: the model block the judge asks (required).",
        "prompt": "`prompt groundedness` (built in) or `prompt template \"...\"` with "
                  "{version_a} and {version_b}.",
        "order": "`order random|both`: one question per answer, the source shown as A or B "
                 "as drawn, or two questions, once each way.",
        "spot_check": "`spot_check N`: \"Yes\" verdicts per model x intervention drawn for a "
                      "person to review.",
        "judge": "`judge selected|all`: best-of-N: judge only the selected candidate, or "
                 "every one.",
    },
    "evaluate": {
        "probe": "`probe NAME`: the probe every model and intervention runs on (required).",
        "models": "`models a, b`: the models evaluated (required).",
        "interventions": "`interventions c, d`: the interventions evaluated (required).",
        "grounding": "`grounding JUDGE`: judge each answer's groundedness; the summary counts "
                     "grounded answers only.",
    },
}

# Words that are a setting's value (`select nearest`), and words that continue a setting
# documented under its first word (`requests 2 per source`, `price in X out Y`): no
# documentation of their own. Editors show values as constants, the others as keywords.
VALUES = frozenset({
    "on", "off", "score", "drop", "nearest", "first", "random", "both", "selected", "all",
    "least_busy", "shuffle", "uniform", "groundedness",
})
CONNECTIVES = frozenset({
    "words", "sentences", "per", "source", "in", "out", "env", "up", "down", "above", "below",
    "template", "rounds", "ray",
})
VALUE_WORDS = VALUES | CONNECTIVES


BUILTIN_PROMPTS: dict[str, str] = {
    "direct": "The built-in prompt `direct`: \"Please rewrite the following, but make it "
              "{requests}.\", each requested move as a phrase.",
    "underspecified": "The built-in prompt `underspecified`: one vague request (\"Please "
                      "rewrite the following, but improve it.\").",
    "cot": "The built-in prompt `cot`: as `direct`, and the model proposes edits before its "
           "rewritten text.",
}


def setting_doc(context: str, keyword: str) -> str | None:
    """The documentation of `keyword` written in `context` (a block kind or one of the parts
    above), falling back to the block it is part of."""
    doc = SETTINGS.get(context, {}).get(keyword)
    if doc is None and context in PARTS:
        doc = SETTINGS[PARTS[context]].get(keyword)
    return doc


# A part of a block -> the block it is written in.
PARTS = {"read": "corpus", "deployment": "model", "reward": "intervention",
         "lora": "intervention"}
