"""What steerdsl's in-process models share (the built-in GGUF model through llama.cpp, hf
models through transformers): a litellm custom provider that generates in a worker thread, one
generation at a time, and can be told to stop the requests made so far (Ctrl-C).

Subclasses implement `generate(model, messages, params, ticket)`, returning the answers, their
finish reasons ('length': cut off at max_tokens or the context) and the prompt and completion
tokens of all of them; they call `self.should_stop(ticket)` between tokens.
"""

from __future__ import annotations

import asyncio
import threading
from typing import Any

from steerdsl.llm.litellm_loader import litellm_module

_providers: list[Any] = []  # every registered in-process provider, for stop_generating
_lock = threading.Lock()


class GenerationStopped(Exception):
    """A generation given up because its request was cancelled (Ctrl-C)."""


def stop_generating() -> None:
    """Stop every in-process generation requested so far at its next token, and the ones
    waiting for the model before they start: cancelling a request cannot reach its thread, and
    asyncio.run waits for that thread (whole answers of up to max_tokens, one after another)
    on Ctrl-C. Requests made afterwards run normally."""
    for provider in list(_providers):
        provider.stop_tickets_below = provider.tickets


def register(name: str, make: Any) -> Any:
    """The provider registered with litellm under `name`, made by `make()` the first time."""
    with _lock:
        litellm = litellm_module()
        for entry in litellm.custom_provider_map or []:
            if entry.get("provider") == name:
                return entry["custom_handler"]
        provider = make()
        _providers.append(provider)
        litellm.custom_provider_map = [*(litellm.custom_provider_map or []),
                                       {"provider": name, "custom_handler": provider}]
        return provider


def provider_base():
    """The base class (defined on first use: it needs litellm, which is heavy to import)."""
    global _Base
    if _Base is None:
        _Base = _define_base()
    return _Base


_Base: Any = None


def _define_base():
    from litellm import CustomLLM
    from litellm.types.utils import Choices, Message, Usage

    class InProcessLLM(CustomLLM):
        def __init__(self) -> None:
            super().__init__()
            self.models: dict[str, Any] = {}
            self.lock = threading.Lock()  # one generation at a time (the CPU is shared)
            # Every request takes a ticket when it is made; stop_generating() stops those below.
            self.tickets = 0
            self.stop_tickets_below = 0

        def ticket(self) -> int:
            self.tickets += 1
            return self.tickets - 1

        def should_stop(self, ticket: int) -> bool:
            return ticket < self.stop_tickets_below

        def generate(self, model: str, messages: list, params: dict[str, Any],
                     ticket: int) -> tuple[list[str], list[str | None], int, int]:
            raise NotImplementedError

        @staticmethod
        def respond(model_response, generated):
            contents, reasons, pt, ct = generated
            model_response.choices = [
                Choices(index=i, message=Message(role="assistant", content=c),
                        finish_reason=r or "stop")
                for i, (c, r) in enumerate(zip(contents, reasons))]
            model_response.usage = Usage(prompt_tokens=pt, completion_tokens=ct,
                                         total_tokens=pt + ct)
            return model_response

        def completion(self, model, messages, api_base, custom_prompt_dict, model_response,
                       print_verbose, encoding, api_key, logging_obj, optional_params,
                       acompletion=None, litellm_params=None, logger_fn=None, headers={},
                       timeout=None, client=None):
            return self.respond(model_response, self.generate(model, messages, optional_params,
                                                              self.ticket()))

        async def acompletion(self, model, messages, api_base, custom_prompt_dict,
                              model_response, print_verbose, encoding, api_key, logging_obj,
                              optional_params, acompletion=None, litellm_params=None,
                              logger_fn=None, headers={}, timeout=None, client=None):
            # Generation holds the CPU for seconds: keep the event loop (writer, progress) free.
            # The ticket is taken now, not when the thread starts: stop_generating() must
            # also reach requests still queued for a thread.
            generated = await asyncio.to_thread(self.generate, model, messages, optional_params,
                                                self.ticket())
            return self.respond(model_response, generated)

    return InProcessLLM
