"""Fine-tuning for steerability (the `finetune` intervention): GRPO with a LoRA adapter,
rewarded in the spec's goal space. Nothing here imports torch at module level: `check` and
`compile` must stay light, and training is an optional extra (steerdsl[train]).

- files: where a train stage keeps its checkpoints and adapter (beside the store).
- base_model: the checkpoint folder a model trains from (an hf id or path, or the built-in
  GGUF model dequantized once).
- grpo: one training run through TRL's GRPOTrainer, resumable from its last checkpoint.
"""
