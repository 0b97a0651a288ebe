"""The hf provider: a transformers checkpoint (here the tiny random Llama) answering in
process through litellm, with n samples, a seed, max_tokens and finish reasons."""

from __future__ import annotations

import asyncio

import pytest

from steerdsl.errors import RunError
from steerdsl.llm import completion as llm
from steerdsl.llm import hf
from steerdsl.llm.inprocess import GenerationStopped, stop_generating
from steerdsl.plan.model import ModelPlan, SamplingParams

pytestmark = pytest.mark.train
PROMPT = "Please rewrite the following, but make it shorter.\n\nThe meeting is on Monday."


def _model(folder, **kw) -> ModelPlan:
    return ModelPlan(name="tiny", provider="hf", model=str(folder),
                     sampling=SamplingParams(max_tokens=12), **kw)


def _complete(model, n, params):
    return asyncio.run(llm.complete(model, PROMPT, n, params, None))


def test_hf_model_answers_n_samples_cut_off_at_max_tokens(tiny_llama):
    model = _model(tiny_llama)
    out = _complete(model, 3, {"temperature": 1.0, "max_tokens": 5, "seed": 7})
    # A random model never says end-of-turn within 5 tokens: every sample is cut off.
    assert out.finish_reasons == ["length"] * 3
    assert len(out.contents) == 3 and all(out.contents)
    assert len(set(out.contents)) > 1  # sampled: the samples differ
    assert out.completion_tokens == 15 and out.prompt_tokens > 3 * 10
    assert out.cost == 0.0
    again = _complete(model, 3, {"temperature": 1.0, "max_tokens": 5, "seed": 7})
    assert again.contents == out.contents  # same seed, same samples


def test_hf_model_is_greedy_without_temperature(tiny_llama):
    model = _model(tiny_llama)
    a = _complete(model, 2, {"max_tokens": 4})
    assert a.contents[0] == a.contents[1] and a.finish_reasons == ["length", "length"]
    assert llm.supports_param(model, "n") and llm.model_id(model).startswith("steerdsl-hf/")


def test_hf_model_with_an_adapter_is_its_own_model(tiny_llama, tmp_path):
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM

    import torch

    peft_model = get_peft_model(AutoModelForCausalLM.from_pretrained(tiny_llama),
                                LoraConfig(r=4, lora_alpha=8, target_modules="all-linear",
                                           task_type="CAUSAL_LM", init_lora_weights=False))
    with torch.no_grad():  # a visible change: the adapter's B matrices are random
        for name, p in peft_model.named_parameters():
            if "lora_B" in name:
                p.normal_(0, 2.0)
    peft_model.save_pretrained(tmp_path / "adapter")
    base, tuned = _model(tiny_llama), _model(tiny_llama, adapter=str(tmp_path / "adapter"))
    assert llm.model_id(base) != llm.model_id(tuned)
    params = {"max_tokens": 6, "seed": 1}
    assert _complete(base, 1, params).contents != _complete(tuned, 1, params).contents


def test_stopped_requests_do_not_generate(tiny_llama):
    key = hf.ensure_registered(_model(tiny_llama))
    provider = next(p["custom_handler"] for p in llm.litellm_module().custom_provider_map
                    if p["provider"] == "steerdsl-hf")
    queued = provider.ticket()
    stop_generating()
    with pytest.raises(GenerationStopped):
        provider.generate(key, [{"role": "user", "content": "hi"}], {"max_tokens": 3}, queued)
    contents, reasons, _, ct = provider.generate(
        key, [{"role": "user", "content": "hi"}], {"max_tokens": 3}, provider.ticket())
    assert contents[0] and reasons == ["length"] and ct == 3


def test_missing_checkpoint_is_a_clear_error(tmp_path):
    with pytest.raises(RunError, match="cannot load"):
        hf.ensure_registered(_model(tmp_path / "nothing-here"))


def test_without_the_training_extra_a_run_says_what_to_install(monkeypatch):
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name, *a: None if name == "trl" else real(name, *a))
    with pytest.raises(RunError, match=r"^fine-tuning needs the training extra \(trl not "
                                       r"installed\): pip install 'steerdsl\[train\]' "
                                       r"\(scripts/setup installs it\)$"):
        hf.require_packages("fine-tuning", ("torch", "trl"))
