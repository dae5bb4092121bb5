"""The renderer's errors, shared by the in-process path and the worker processes."""

from __future__ import annotations


class TemplateError(Exception):
    """A template could not be compiled or rendered; the message says why."""


class TemplateTimeoutError(TemplateError):
    """A render ran past its time budget."""


def timeout_error(budget: float) -> TemplateTimeoutError:
    """The error of a render that ran past `budget` seconds (wherever it ran)."""
    return TemplateTimeoutError(
        f"template rendering exceeded its time budget of {budget:g} s"
    )
