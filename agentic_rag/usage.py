"""What a run, a step or one model call cost."""

from __future__ import annotations

from pydantic import BaseModel

__all__ = ["Usage"]


class Usage(BaseModel):
    """What a run cost. ``cached_prompt_tokens``: the part of ``prompt_tokens`` the model server reused
    from its cache (llama.cpp's prompt cache, a provider's cached input) rather than computed."""

    llm_calls: int = 0
    prompt_tokens: int = 0
    cached_prompt_tokens: int = 0
    completion_tokens: int = 0
    tool_calls: int = 0
    seconds: float = 0.0

    @property
    def total_tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens

    @property
    def computed_prompt_tokens(self) -> int:
        """Prompt tokens the model had to read anew."""
        return self.prompt_tokens - self.cached_prompt_tokens

    def __add__(self, other: Usage) -> Usage:
        return Usage(
            llm_calls=self.llm_calls + other.llm_calls,
            prompt_tokens=self.prompt_tokens + other.prompt_tokens,
            cached_prompt_tokens=self.cached_prompt_tokens + other.cached_prompt_tokens,
            completion_tokens=self.completion_tokens + other.completion_tokens,
            tool_calls=self.tool_calls + other.tool_calls,
            seconds=self.seconds + other.seconds,
        )
