"""Batch building of variants: matrix -> plan (what is stale) -> narrate once -> render in parallel.

variants = expand(load_matrix(path))      # pure: the cartesian product, excludes, overrides
planned = plan(variants)                  # keys every output; unchanged ones are skipped
report = run_batch(planned, cache_dir=...)  # narration first, then -j N workers or dask
"""

from .jobs import Event
from .matrix import Matrix, Variant, expand, load_matrix, parse_matrix, with_lists
from .plan import Planned, plan, stamp_path
from .run import EXECUTORS, BatchReport, Outcome, run_batch

__all__ = [
    "EXECUTORS",
    "BatchReport",
    "Event",
    "Matrix",
    "Outcome",
    "Planned",
    "Variant",
    "expand",
    "load_matrix",
    "parse_matrix",
    "plan",
    "run_batch",
    "stamp_path",
    "with_lists",
]
