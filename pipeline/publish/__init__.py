"""MP3 + Timeline -> what players, podcast apps and listeners get.

One module per product: `tags` (ID3v2.3 tags and chapters inside the MP3), `cover` (cover art),
`sidecars` (transcripts, JSON chapters, the manifest entry), `feed` (podcast RSS and playlists),
`index_page` (the HTML listing), `program` (a multi-week series of builds), `export` (a folder
for a phone or another host) and `serve` (the token-guarded share server). Every file they write
goes through `pipeline.files`. The names a build needs are re-exported here.
"""

from .cover import check_cover, draw_cover
from .sidecars import (
    MANIFEST_SUFFIX,
    Caption,
    captions,
    file_input,
    sidecar_paths,
    srt,
    webvtt,
    write_sidecars,
)
from .tags import DEFAULT_SERIES, EpisodeInfo, ffmetadata, id3_tags, now_utc, prepare

__all__ = [
    "DEFAULT_SERIES",
    "MANIFEST_SUFFIX",
    "Caption",
    "EpisodeInfo",
    "captions",
    "check_cover",
    "draw_cover",
    "ffmetadata",
    "file_input",
    "id3_tags",
    "now_utc",
    "prepare",
    "sidecar_paths",
    "srt",
    "webvtt",
    "write_sidecars",
]
