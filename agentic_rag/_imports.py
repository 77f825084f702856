"""``python:package.module:attribute`` specs: a user's own chat model or embeddings, named on the command line."""

from __future__ import annotations

import importlib
from typing import Any, TypeVar

from agentic_rag.errors import ConfigurationError

__all__ = ["PYTHON_PREFIX", "import_instance"]

PYTHON_PREFIX = "python:"
T = TypeVar("T")


def import_instance(spec: str, expected: type[T], what: str) -> T:
    """The object ``python:module:attribute`` names: an instance of ``expected``, or a class or factory
    called with no arguments to make one. Anything else is a :class:`ConfigurationError` naming the spec."""
    path = spec[len(PYTHON_PREFIX):] if spec.startswith(PYTHON_PREFIX) else spec
    module_name, sep, attribute = path.strip().partition(":")
    if not sep or not module_name or not attribute:
        raise ConfigurationError(f"{what} {spec!r}: write python:package.module:attribute")
    try:
        target: Any = importlib.import_module(module_name)
    except Exception as exc:  # noqa: BLE001 - a missing module, or one that fails as it loads
        raise ConfigurationError(f"{what} {spec!r}: cannot import {module_name!r} ({type(exc).__name__}: {exc})") from exc
    for part in attribute.split("."):
        if not hasattr(target, part):
            raise ConfigurationError(f"{what} {spec!r}: {module_name!r} has no {attribute!r}")
        target = getattr(target, part)
    if not isinstance(target, expected) and callable(target):
        try:
            target = target()
        except Exception as exc:  # noqa: BLE001 - a user's factory fails in its own ways
            raise ConfigurationError(f"{what} {spec!r}: calling {attribute} failed: {type(exc).__name__}: {exc}") from exc
    if not isinstance(target, expected):
        raise ConfigurationError(f"{what} {spec!r} is a {type(target).__name__}, not an instance of {expected.__name__}")
    return target
