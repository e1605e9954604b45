"""Batch building of variants: matrix -> assess staleness -> narrate once -> render in parallel.

variants = expand(load_matrix(path))      # pure: the cartesian product, excludes, overrides
assessed = assess(variants)                  # keys every output; unchanged ones are skipped
report = run_batch(assessed, cache_dir=...)  # narration first, then -j N workers or dask
"""

from ..cluster import EXECUTORS
from .jobs import BatchProgress
from .matrix import Matrix, Variant, expand, load_matrix, parse_matrix, with_lists
from .run import BatchReport, Outcome, run_batch
from .staleness import Assessed, assess, stamp_path

__all__ = [
    "EXECUTORS",
    "Assessed",
    "BatchProgress",
    "BatchReport",
    "Matrix",
    "Outcome",
    "Variant",
    "assess",
    "expand",
    "load_matrix",
    "parse_matrix",
    "run_batch",
    "stamp_path",
    "with_lists",
]
