"""Cover art: a user's image checked, or square art drawn for the routine (deterministic)."""

from __future__ import annotations

import colorsys
import contextlib
import hashlib
import io
import json
from pathlib import Path

from ..errors import PublishError
from ..tuning import COVER_FORMATS, COVER_PX

COVER_VERSION = 1  # bump when `draw_cover` draws anything differently
PNG_HEAD, PNG_TAIL = b"\x89PNG\r\n\x1a\n", b"IEND\xaeB`\x82"


def check_cover(path: Path) -> Path:
    """A user's cover must be a readable JPEG or PNG (what ID3 APIC and podcast apps take)."""
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as image:
            kind, size = image.format, image.size
    except FileNotFoundError:
        raise PublishError(f"{path}: no such cover image") from None
    except (UnidentifiedImageError, OSError) as exc:
        raise PublishError(
            f"{path}: not an image Pillow can read ({exc}); give a JPEG or PNG"
        ) from None
    if kind not in COVER_FORMATS:
        raise PublishError(f"{path}: cover is {kind}; give a JPEG or PNG")
    if size[0] != size[1]:
        raise PublishError(f"{path}: cover is {size[0]}x{size[1]}; podcast art must be square")
    return path


def draw_cover(title: str, subtitle: str, seed: str, size: int = COVER_PX) -> bytes:
    """Square PNG art: a calm vertical gradient (hue from `seed`) with the title. Deterministic,
    so rebuilding the same routine makes the same bytes."""
    import numpy as np
    from PIL import Image, ImageDraw, ImageFont

    hue = int(hashlib.sha256(seed.encode()).hexdigest()[:4], 16) / 0xFFFF
    top = np.array(colorsys.hsv_to_rgb(hue, 0.45, 0.55)) * 255
    bottom = np.array(colorsys.hsv_to_rgb((hue + 0.08) % 1, 0.55, 0.18)) * 255
    ramp = np.linspace(0.0, 1.0, size)[:, None, None]
    pixels = (top * (1 - ramp) + bottom * ramp).repeat(size, axis=1).astype(np.uint8)
    image = Image.fromarray(pixels, "RGB")
    draw = ImageDraw.Draw(image)
    margin = size // 12
    big = ImageFont.load_default(size=size // 12)
    small = ImageFont.load_default(size=size // 24)
    y = size // 3
    for line in _wrap(title, big, draw, size - 2 * margin):
        draw.text((margin, y), line, font=big, fill=(250, 248, 240))
        y += int(size / 12 * 1.25)
    draw.text((margin, y + size // 30), subtitle, font=small, fill=(225, 225, 215))
    draw.ellipse(  # a soft circle: breathing in, breathing out
        (size - margin - size // 6, margin, size - margin, margin + size // 6),
        outline=(250, 248, 240),
        width=max(2, size // 200),
    )
    draw.text((margin, size - margin - size // 24), "pmr", font=small, fill=(225, 225, 215))
    from PIL.PngImagePlugin import PngInfo

    from ..files import mark

    info = PngInfo()
    info.add_text("Software", mark())
    buffer = io.BytesIO()
    image.save(buffer, "PNG", optimize=True, pnginfo=info)
    return buffer.getvalue()


def cached_cover(
    title: str, subtitle: str, seed: str, cache_dir: Path | None, size: int = COVER_PX
) -> bytes:
    """`draw_cover`'s bytes, kept in `cache_dir`/covers by everything that shapes them (the
    arguments, COVER_VERSION, pmr's and Pillow's versions): drawing and PNG-optimizing the art
    costs more CPU than any other step outside the render loop, for the same bytes each build.
    A cache that can't be read or written only means drawing again."""
    if cache_dir is None:
        return draw_cover(title, subtitle, seed, size)
    import PIL  # (the package only: its version, not the imaging modules)

    from ..files import Replace, mark, write_atomic

    material = [COVER_VERSION, title, subtitle, seed, size, mark(), PIL.__version__]
    digest = hashlib.sha256(json.dumps(material).encode()).hexdigest()
    path = Path(cache_dir) / "covers" / f"{digest}.png"
    with contextlib.suppress(OSError):
        png = path.read_bytes()
        if png.startswith(PNG_HEAD) and png.endswith(PNG_TAIL):
            return png
    png = draw_cover(title, subtitle, seed, size)
    with contextlib.suppress(OSError):
        path.parent.mkdir(parents=True, exist_ok=True)
        write_atomic(path, png, replace=Replace.ALWAYS)
    return png


def _wrap(text: str, font: object, draw: object, width: int) -> list[str]:
    lines: list[str] = []
    for word in text.split():
        trial = f"{lines[-1]} {word}" if lines else word
        if lines and draw.textlength(trial, font=font) <= width:  # type: ignore[attr-defined]
            lines[-1] = trial
        else:
            lines.append(word)
    return lines[:4]
