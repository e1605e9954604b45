"""Old import path: `pmr validate` and `pmr new` live in pipeline.template now."""

from .template import locate, new_routine, problems, validate

__all__ = ["locate", "new_routine", "problems", "validate"]
