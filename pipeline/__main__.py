"""`python -m pipeline` runs the pmr CLI."""

from .cli import app

app()
