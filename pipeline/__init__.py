"""pmr: build guided progressive muscle relaxation sessions as finished MP3 files.

The flow (see build.py): template -> narration -> fit -> render -> encode.
"""

import os

__version__ = "0.1.0"
DISTRIBUTION = "pmr-relax"  # the name pip knows it by (`pmr` on PyPI is another project)

# One BLAS thread: the beds' small matrix products gain nothing from more, and the cores are
# already the encoders' and the chunk workers' (idle BLAS threads spinning on a busy 2-core
# machine made the pad bed 9x slower). Set before numpy loads; a user's own setting wins.
# (numpy's wheels use OpenBLAS; Piper's onnxruntime keeps its own thread pool.)
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
