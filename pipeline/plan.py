"""`pmr plan`: the cue sheet of a session, and a timeline picture, without building any audio.

Clip lengths come from the narration cache when a line was synthesized before, else from an
estimate by text length (calibrated on this voice's cached clips when there are some). The
fitted Timeline is the same one a build would make with those lengths.
"""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .errors import RenderError, VoiceError
from .fit import Timeline, describe_reach, fit
from .narration import ClipCache, VoiceProfile, line_key, paced
from .narration.engines import engine_for
from .narration.phrases import phrases
from .template import Script
from .tuning import (
    BED_DUCK_DB,
    BED_LEVEL_DBFS,
    CLIP_PAD_S,
    FADE_IN_S,
    FADE_OUT_S,
    SPEECH_CHARS_PER_S,
)


@dataclass(frozen=True)
class ClipLengths:
    frames: dict[str, int]  # line id -> frames
    cached: int  # lines whose length is the real cached clip's
    estimated: int  # lines whose length is estimated from their text


@dataclass(frozen=True)
class Plan:
    script: Script
    voice: VoiceProfile
    timeline: Timeline
    lengths: ClipLengths
    reach: str  # '9.4 to 54.5 min'


def clip_lengths(
    script: Script, voice: VoiceProfile, cache: ClipCache, rate_hz: int
) -> ClipLengths:
    """Frames per line id: the cached clip's length when there is one, else an estimate."""
    check_language(script, voice)
    voice = paced(voice, script.delivery.pace)
    engine = engine_for(voice)
    phrasing = voice.phrasing or script.delivery.phrasing
    known: dict[str, int] = {}
    for line in script.lines():
        clip = cache.get(line_key(cache, engine, voice, line.text, line.id, phrasing, rate_hz))
        if clip is not None:
            known[line.id] = int(clip.shape[0])
    texts = {line.id: line.text for line in script.lines()}
    pad = 2 * CLIP_PAD_S * rate_hz
    max_chars = getattr(engine, "max_phrase_chars", None)
    pauses = {  # frames of phrase pauses inside each line (not speech)
        i: round(sum(p.pause_after_s for p in phrases(t, phrasing, max_chars)) * rate_hz)
        for i, t in texts.items()
    }
    chars_per_s = SPEECH_CHARS_PER_S * voice.pace
    if known:  # calibrate on this voice's real clips
        spoken = sum(max(known[i] - pad - pauses[i], 1) for i in known) / rate_hz
        chars_per_s = sum(len(texts[i]) for i in known) / spoken
    frames = {
        line_id: known.get(line_id, round(len(text) / chars_per_s * rate_hz + pad))
        + (0 if line_id in known else pauses[line_id])
        for line_id, text in texts.items()
    }
    return ClipLengths(frames, len(known), len(frames) - len(known))


def check_language(script: Script, voice: VoiceProfile) -> None:
    """The same rule narration applies: a voice never reads a language it doesn't speak."""
    if voice.language.split("-")[0] != script.language.split("-")[0]:
        raise VoiceError(
            f"voice {voice.name} speaks {voice.language!r} but routine {script.name} is in "
            f"{script.language!r}; choose a voice for {script.language!r}"
        )


def make_plan(
    script: Script, voice: VoiceProfile, cache: ClipCache, rate_hz: int, minutes: float
) -> Plan:
    lengths = clip_lengths(script, voice, cache, rate_hz)
    label = f"{script.name} with {voice.name}"
    timeline = fit(script, lengths.frames, rate_hz, minutes * 60, label=label)
    return Plan(script, voice, timeline, lengths, describe_reach(script, lengths.frames, rate_hz))


def cue_sheet(plan: Plan, width: int = 100) -> str:
    """One row per line, pause and cue: start time, chapter, and what happens."""
    timeline, rate = plan.timeline, plan.timeline.rate_hz
    texts = {line.id: line.text for line in plan.script.lines()}
    titles = {c.id: c.title for c in timeline.chapters}
    fixed = {
        s.kind for sec in plan.script.sections for s in sec.steps if getattr(s, "fixed", False)
    }
    lengths = plan.lengths
    rows = [
        f"{plan.script.name} with {plan.voice.name}: {_clock(timeline.seconds)} "
        f"(reaches {plan.reach}); clip lengths: {lengths.cached} cached, "
        f"{lengths.estimated} estimated from text",
        f"{'start':>8}  {'section':<26} what",
    ]
    for event in timeline.events:
        if event.kind == "line":
            what = f'"{texts[event.ref]}"'
        elif event.kind == "pause":
            what = (
                f"[{event.ref} {event.length / rate:.1f} s{' fixed' if event.ref in fixed else ''}]"
            )
        else:
            what = f"<{event.ref}>"
        row = f"{_clock(event.start / rate):>8}  {titles[event.section][:26]:<26} {what}"
        rows.append(row if len(row) <= width else row[: width - 3] + "...")
    rows.append(f"{_clock(timeline.seconds):>8}  end")
    return "\n".join(rows)


def draw_png(plan: Plan, out: Path, background: str = "pad") -> Path:
    """The timeline as a picture: sections, narration, pauses by kind, background level (dBFS)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.patches import Patch

    if not out.parent.is_dir():
        raise RenderError(f"--png {out}: folder {out.parent} does not exist")
    timeline, rate = plan.timeline, plan.timeline.rate_hz
    minutes = timeline.seconds / 60
    figure, (top, bottom) = plt.subplots(
        2, 1, figsize=(16, 6.5), sharex=True, gridspec_kw={"height_ratios": [3, 1.3]}
    )
    figure.suptitle(
        f"{plan.script.title} - {plan.voice.name}, {_clock(timeline.seconds)} "
        f"(reachable {plan.reach})",
        fontsize=12,
    )
    # sections: alternating bands with their titles
    starts = [c.start for c in timeline.chapters] + [timeline.total]
    for index, chapter in enumerate(timeline.chapters):
        left, right = starts[index] / rate / 60, starts[index + 1] / rate / 60
        top.axvspan(left, right, ymin=0.55, ymax=1.0, color=("#dfe7f2", "#c7d5ea")[index % 2])
        if right - left > minutes / 120:
            label = chapter.title if len(chapter.title) <= 28 else chapter.title[:27] + "."
            top.text(
                (left + right) / 2, 2.48, label, rotation=90, ha="center", va="bottom",
                fontsize=7, clip_on=True,
            )  # fmt: skip
    kinds = sorted({e.ref for e in timeline.of_kind("pause")})
    colors = dict(zip(kinds, plt.get_cmap("tab10").colors, strict=False))
    lines = timeline.of_kind("line")
    top.broken_barh(
        [(e.start / rate / 60, e.length / rate / 60) for e in lines], (1.4, 0.8), color="#333333"
    )
    for kind in kinds:
        spans = [(e.start / rate / 60, e.length / rate / 60) for e in timeline.of_kind("pause")
                 if e.ref == kind]  # fmt: skip
        top.broken_barh(spans, (0.3, 0.8), color=colors[kind])
    for cue in timeline.of_kind("cue"):
        top.axvline(cue.start / rate / 60, ymin=0.0, ymax=0.54, color="#b8860b", lw=1.2, ls="--")
    top.set_ylim(0, 4.4)
    top.set_yticks([0.7, 1.8], ["pauses", "narration"])
    top.legend(
        handles=[Patch(color=colors[k], label=k) for k in kinds]
        + [Patch(color="#333333", label="narration")],
        loc="upper right", ncol=len(kinds) + 1, fontsize=8, bbox_to_anchor=(1.0, -0.02),
    )  # fmt: skip
    # background level: bed in pauses, ducked under speech, faded in and out
    grid = np.linspace(0, timeline.total, 4000)
    level = np.full(grid.shape, BED_LEVEL_DBFS if background != "none" else np.nan)
    if lines:
        line_starts = np.array([e.start for e in lines])
        line_ends = np.array([e.end for e in lines])
        index = np.searchsorted(line_starts, grid, side="right") - 1
        speaking = (index >= 0) & (grid < line_ends[np.maximum(index, 0)])
        level = level + np.where(speaking, BED_DUCK_DB, 0.0)
    fade = np.minimum(
        grid / (FADE_IN_S * rate),
        (timeline.total - grid) / ((timeline.fade_out_s or FADE_OUT_S) * rate),
    )
    fade = np.maximum(np.sin(0.5 * np.pi * np.clip(fade, 0.0, 1.0)), 1e-3)  # as render does
    bottom.plot(grid / rate / 60, level + 20 * np.log10(fade), color="#2e7d32", lw=1)
    bottom.set_ylim(BED_LEVEL_DBFS + BED_DUCK_DB - 12, BED_LEVEL_DBFS + 6)
    bottom.set_ylabel("background\n(dBFS)")
    bottom.set_xlabel("minutes")
    bottom.set_xlim(0, minutes)
    bottom.grid(alpha=0.3)
    if background == "none":
        bottom.text(minutes / 2, BED_LEVEL_DBFS - 5, "no background", ha="center")
    figure.tight_layout()
    fd, tmp = tempfile.mkstemp(dir=out.parent, prefix=f".{out.stem}.", suffix=".png.tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            figure.savefig(handle, format="png", dpi=110)
        os.replace(tmp, out)
    finally:
        plt.close(figure)
        Path(tmp).unlink(missing_ok=True)
    return out


def _clock(seconds: float) -> str:
    return f"{int(seconds // 60)}:{seconds % 60:04.1f}"
