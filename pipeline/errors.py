"""One exception family: the CLI turns every PmrError into one line on stderr and exit 2."""


class PmrError(Exception):
    """A user-facing problem: the message names the file, key or value and what is valid."""


class TemplateError(PmrError):
    """A routine template can't be read or is invalid."""


class VoiceError(PmrError):
    """A voice profile is unknown or invalid, or its engine can't speak."""


class FitError(PmrError):
    """The routine can't be fitted to the requested length."""


class RenderError(PmrError):
    """A background or mix setting is invalid."""


class EncodeError(PmrError):
    """ffmpeg or LAME is missing or failed, or the output can't be written."""


def did_you_mean(word: str, choices: object) -> str:
    """' (did you mean 'x'?)' for the closest choice, or ''."""
    import difflib

    close = difflib.get_close_matches(str(word), [str(c) for c in choices], n=1)  # type: ignore[union-attr]
    return f" (did you mean {close[0]!r}?)" if close else ""


class PublishError(PmrError):
    """Tags, cover art, a feed, a playlist or a page can't be made from what was given."""


class BatchError(PmrError):
    """A batch matrix is invalid (its file, key or value is named)."""


class ClusterError(PmrError):
    """--executor dask can't be used: no scheduler, the extra missing, or it can't be reached."""


class OutputError(PmrError):
    """An output path pmr may not write: a node, a link, a folder, or a file pmr did not write."""
