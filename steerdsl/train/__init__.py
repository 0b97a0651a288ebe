"""Fine-tuning for steerability (the `finetune` intervention): GRPO with a LoRA adapter,
rewarded in the spec's goal space.

- dataset.py: a training probe's rows as columns (chat prompts, source and target vectors,
  sampling weights): what a GRPO trainer (TRL) or `steerdsl export-train` takes.
- rewards.py: the goal space in process (the measuring engine, its cache, the space's
  bounds) and reward functions with TRL's signature (docs/method.md, "Rewards").
- files.py: where a train stage keeps its checkpoints and adapter (beside the store).
- base_model.py: the checkpoint folder a model trains from (an hf id or path, or the
  built-in GGUF model dequantized once).
- grpo.py: one training through TRL's GRPOTrainer, resumable from its last checkpoint.

Nothing here imports torch, transformers or TRL at module level: `check`, `compile`, rewards
and datasets work without them (training is the optional extra steerdsl[train]).
"""
