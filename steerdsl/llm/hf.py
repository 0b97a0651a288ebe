"""hf models (transformers weights, optionally with a LoRA adapter) run in process, as a litellm
custom provider: they go through the same litellm path (pacing, retries, writing) as every
other model. A fine-tune intervention answers through here with its base model plus the
adapter its train stage wrote.

torch and transformers are the training extra (steerdsl[train]); they are imported on first
use only.
"""

from __future__ import annotations

import hashlib
import importlib.util
import threading
from typing import Any

from steerdsl.errors import RunError
from steerdsl.llm.inprocess import GenerationStopped, provider_base, register
from steerdsl.llm.litellm_loader import HF_PROVIDER
from steerdsl.plan.model import ModelPlan
from steerdsl.versions import TRAINING

DEFAULT_MAX_TOKENS = 256
TRAIN_EXTRA = "pip install 'steerdsl[train]' (scripts/setup installs it)"
_lock = threading.Lock()


def require_packages(what: str, packages: tuple[str, ...] = TRAINING) -> None:
    """A RunError naming the extra to install when a package of it (by default: any of the
    training extra's, steerdsl.versions.TRAINING) is missing."""
    missing = [p for p in packages if importlib.util.find_spec(p) is None]
    if missing:
        raise RunError(f"{what} needs the training extra ({', '.join(missing)} not "
                       f"installed): {TRAIN_EXTRA}")


def model_key(model: ModelPlan) -> str:
    """The name of a model (weights plus adapter) inside the provider: paths hold slashes,
    which litellm's "provider/model" would split on."""
    ident = f"{model.model}\0{model.adapter or ''}"
    return hashlib.sha256(ident.encode()).hexdigest()[:16]


def ensure_registered(model: ModelPlan) -> str:
    """Register the provider with litellm (once) and load the model; its name there."""
    key = model_key(model)
    with _lock:
        provider = register(HF_PROVIDER, _provider_class())
        if key not in provider.models:
            require_packages(f"model {model.name} (hf)")
            provider.models[key] = _load(model)
    return key


def _load(model: ModelPlan) -> tuple[Any, Any]:
    from transformers import AutoModelForCausalLM, AutoTokenizer
    from transformers.utils import logging

    logging.disable_progress_bar()  # the run shows its own progress

    try:
        tok = AutoTokenizer.from_pretrained(model.model)
        lm = AutoModelForCausalLM.from_pretrained(model.model)
    except OSError as e:
        raise RunError(f"model {model.name}: cannot load {model.model!r} ({e}); an hf model is "
                       "a checkpoint folder or a Hugging Face id in the local cache") from None
    if model.adapter:
        from peft import PeftModel

        # Merged once: generating is then as fast as with the base model alone.
        lm = PeftModel.from_pretrained(lm, model.adapter).merge_and_unload()
    lm.eval()
    return lm, tok


def _stop_criteria(should_stop):
    import torch
    from transformers import StoppingCriteria, StoppingCriteriaList

    class Stop(StoppingCriteria):
        def __call__(self, input_ids, scores, **kwargs):
            return torch.full((input_ids.shape[0],), bool(should_stop()), dtype=torch.bool)

    return StoppingCriteriaList([Stop()])


def _provider_class():
    class HfLLM(provider_base()):
        def generate(self, model: str, messages: list, params: dict[str, Any],
                     ticket: int) -> tuple[list[str], list[str | None], int, int]:
            import torch
            from transformers import GenerationConfig

            lm, tok = self.models[model]
            n = int(params.get("n") or 1)
            temperature = float(params.get("temperature") or 0.0)
            eos = lm.generation_config.eos_token_id or tok.eos_token_id
            eos_ids = set(eos if isinstance(eos, list) else [eos])
            sampled = temperature > 0
            config = GenerationConfig(
                max_new_tokens=int(params.get("max_tokens") or DEFAULT_MAX_TOKENS),
                # Greedy answers are all the same: generate one and repeat it.
                do_sample=sampled, num_return_sequences=n if sampled else 1, eos_token_id=eos,
                pad_token_id=tok.pad_token_id if tok.pad_token_id is not None else min(eos_ids),
                **({"temperature": temperature, "top_p": params.get("top_p"),
                    "min_p": params.get("min_p")} if sampled else {}))
            inputs = tok.apply_chat_template(messages, add_generation_prompt=True,
                                             return_tensors="pt", return_dict=True)
            prompt_len = inputs["input_ids"].shape[1]
            with self.lock:
                if self.should_stop(ticket):
                    raise GenerationStopped()
                torch.manual_seed(int(params.get("seed") or 0) % 2**31)
                with torch.no_grad():
                    out = lm.generate(**inputs, generation_config=config,
                                      stopping_criteria=_stop_criteria(
                                          lambda: self.should_stop(ticket)))
                if self.should_stop(ticket):
                    raise GenerationStopped()
            contents, reasons, completion_tokens = [], [], 0
            sequences = out[:, prompt_len:].tolist()
            for seq in sequences if sampled else sequences * n:
                end = next((i for i, t in enumerate(seq) if t in eos_ids), None)
                kept = seq if end is None else seq[:end + 1]
                contents.append(tok.decode(kept, skip_special_tokens=True))
                reasons.append("length" if end is None else "stop")
                completion_tokens += len(kept)
            return contents, reasons, prompt_len * n, completion_tokens

    return HfLLM
