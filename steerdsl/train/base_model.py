"""The checkpoint folder a model is fine-tuned from (and its tuned version answers with).

- `hf "/abs/path"`: that folder.
- `hf "org/name"`: the snapshot in the local Hugging Face cache (nothing is downloaded).
- `local "smollm2"`: the built-in GGUF model, dequantized once into `<work dir>/base-smollm2/`
  (a GGUF-quantized model refuses training), and reused afterwards.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

from steerdsl.errors import RunError
from steerdsl.plan.model import ModelPlan

_SOURCE = "steerdsl-source.json"  # what a dequantized folder was made from


def checkpoint_path(model: ModelPlan, work_dir: Path) -> Path:
    """Where the model's checkpoint is, without building anything (a local model's folder may
    not exist yet: `trainable_checkpoint` makes it)."""
    if model.provider == "local":
        return work_dir / f"base-{model.model}"
    if model.provider != "hf":
        raise RunError(f"model {model.name} is a hosted litellm model and cannot be fine-tuned")
    path = Path(model.model).expanduser()
    if path.is_absolute():
        if not path.is_dir():
            raise RunError(f"model {model.name}: the checkpoint folder {path} does not exist")
        return path
    return _cached_snapshot(model)


def trainable_checkpoint(model: ModelPlan, work_dir: Path) -> Path:
    """The model's checkpoint folder, dequantizing a local GGUF model the first time."""
    path = checkpoint_path(model, work_dir)
    if model.provider == "local" and _source_of(path) != _gguf_identity(model):
        _dequantize(model, path)
    return path


def _cached_snapshot(model: ModelPlan) -> Path:
    from huggingface_hub import snapshot_download

    try:
        return Path(snapshot_download(model.model, local_files_only=True))
    except Exception:
        raise RunError(f"model {model.name}: {model.model!r} is not in the local Hugging Face "
                       "cache (steerdsl never downloads); download it once with `hf download "
                       f"{model.model}`, or give a checkpoint folder: hf \"./path\"") from None


def _gguf_identity(model: ModelPlan) -> dict[str, object]:
    from steerdsl.llm.local import model_path

    gguf = model_path(model.model)
    st = gguf.stat()
    return {"gguf": str(gguf), "size": st.st_size, "mtime_ns": st.st_mtime_ns}


def _source_of(folder: Path) -> dict[str, object] | None:
    try:
        return json.loads((folder / _SOURCE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def _dequantize(model: ModelPlan, dest: Path) -> None:
    """Load the GGUF through transformers (dequantized to float32), forget that it was
    quantized, and save it as an ordinary checkpoint; the folder appears whole or not at all."""
    from transformers import AutoModelForCausalLM, AutoTokenizer
    from transformers.utils import logging

    logging.disable_progress_bar()  # the train stage shows what it is doing
    source = _gguf_identity(model)
    gguf = Path(str(source["gguf"]))
    tmp = dest.with_name(f".{dest.name}.tmp-{os.getpid()}")
    shutil.rmtree(tmp, ignore_errors=True)
    with _without_gguf_progress_bar():
        tok = AutoTokenizer.from_pretrained(gguf.parent, gguf_file=gguf.name)
        lm = AutoModelForCausalLM.from_pretrained(gguf.parent, gguf_file=gguf.name)
    # Training a model that says it is GGUF-quantized fails; its weights are plain floats now.
    if hasattr(lm.config, "quantization_config"):
        del lm.config.quantization_config
    lm.hf_quantizer = None
    lm.save_pretrained(tmp)
    tok.save_pretrained(tmp)
    (tmp / _SOURCE).write_text(json.dumps(source), encoding="utf-8")
    shutil.rmtree(dest, ignore_errors=True)
    tmp.rename(dest)


def _without_gguf_progress_bar():
    """transformers' GGUF loader draws its own tqdm bar (not behind its progress-bar switch);
    between a run's progress lines it is noise."""
    from contextlib import nullcontext
    from unittest import mock

    from transformers import modeling_gguf_pytorch_utils as loader

    if not hasattr(loader, "tqdm"):
        return nullcontext()
    return mock.patch.object(loader, "tqdm", lambda items, **_: items)
