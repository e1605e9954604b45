"""pmr: build guided progressive muscle relaxation sessions as finished MP3 files.

The flow (see build.py): template -> narration -> fit -> render -> encode.
"""

__version__ = "0.1.0"
DISTRIBUTION = "pmr-relax"  # the name pip knows it by (`pmr` on PyPI is another project)
