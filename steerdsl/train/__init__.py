"""Fine-tuning for steerability: the training data and the rewards, in the spec's goal space.

- dataset.py: a training probe's rows as columns (chat prompts, source and target vectors,
  sampling weights): what a GRPO trainer (TRL) or `steerdsl export-train` takes.
- rewards.py: the goal space in process (the measuring engine, its cache, the space's
  bounds) and reward functions with TRL's signature (docs/method.md, "Rewards").

Nothing here imports torch, transformers or TRL: rewards and datasets work without them.
"""
