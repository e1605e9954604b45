"""`pmr plan`: the cue sheet of a session, and a timeline picture, without building any audio.

Clip lengths come from the narration cache when a line was synthesized before, else from an
estimate by text length (calibrated on this voice's cached clips when there are some). The
fitted Timeline is the same one a build would make with those lengths.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .errors import RenderError, VoiceError
from .files import atomic_path, mark
from .fit import Timeline, describe_reach, fit, natural_seconds
from .narration import ClipCache, VoiceProfile
from .narration.engines import engine_for
from .narration.phrased import line_key, paced
from .narration.phrases import phrases
from .patter import is_patter
from .sound.envelope import bed_envelope, speech_spans
from .template import Script
from .tighten import scaled, tighter
from .tuning import (
    BED_BELOW_VOICE_LU,
    BED_DUCK_DB,
    CLIP_PAD_S,
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
    natural_s: float  # the routine as written (exact when every clip is cached)


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
    pauses = {  # frames of phrase pauses inside each line (not speech)
        i: round(
            sum(p.pause_after_s for p in phrases(t, phrasing, engine.max_phrase_chars)) * rate_hz
        )
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
    script: Script, voice: VoiceProfile, cache: ClipCache, rate_hz: int, minutes: float | str
) -> Plan:
    """The session a build would make; `minutes` "natural" is the routine as written."""
    lengths = clip_lengths(script, voice, cache, rate_hz)
    synthetic = set(lengths.frames) if engine_for(voice).phrased else set()
    wanted_s = None if minutes == "natural" else float(minutes) * 60
    scale = (
        None
        if wanted_s is None
        else tighter(script, lengths.frames, synthetic, rate_hz, wanted_s, script.delivery.pace)
    )
    if scale is not None:  # as the build does: read faster rather than refuse
        lengths = ClipLengths(
            scaled(lengths.frames, synthetic, scale, rate_hz), lengths.cached, lengths.estimated
        )
    label = f"{script.name} with {voice.name}"
    natural = natural_seconds(script, lengths.frames, rate_hz)
    target = natural if wanted_s is None else wanted_s
    timeline = fit(script, lengths.frames, rate_hz, target, label=label)
    reach = describe_reach(script, lengths.frames, rate_hz)
    return Plan(script, voice, timeline, lengths, reach, natural)


def natural_note(plan: Plan) -> str:
    """'natural length 0.6465 min (38.790 s, exact: every clip is cached)', or estimated."""
    seconds = plan.natural_s
    how = (
        "exact: every clip is cached"
        if not plan.lengths.estimated
        else "estimated: exact once the lines are narrated (pmr narrate)"
    )
    return f"natural length {seconds / 60:.4f} min ({seconds:.3f} s, {how})"


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
        f"{lengths.estimated} estimated from text; {natural_note(plan)}",
        f"{'start':>8}  {'section':<26} what",
    ]
    for event in timeline.events:
        if event.kind == "line":
            what = f'{"patter " if is_patter(event.ref) else ""}"{texts[event.ref]}"'
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


def draw_png(
    plan: Plan, out: Path, background: str = "pad", bed_level_lu: float = BED_BELOW_VOICE_LU
) -> Path:
    """The timeline as a picture: sections, narration, pauses by kind, and the background's
    level under the voice as the mixer sets it."""
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
    _draw_bed(bottom, timeline, background, bed_level_lu)
    figure.tight_layout()
    try:
        with atomic_path(out) as tmp:
            figure.savefig(tmp, format="png", dpi=110, metadata={"Software": mark()})
    finally:
        plt.close(figure)
    return out


def _draw_bed(bottom, timeline: Timeline, background: str, bed_level_lu: float) -> None:
    """The background's level relative to the voice, by the mixer's own model (its level under
    the voice in pauses, ducked under speech with its ramps, faded in and out)."""
    grid = np.linspace(0, timeline.total - 1, 4000).astype(np.int64)
    envelope = bed_envelope(
        grid,
        speech_spans(timeline),
        timeline.total,
        timeline.rate_hz,
        timeline.fade_out_s or FADE_OUT_S,
    )
    level = -bed_level_lu + 20 * np.log10(np.maximum(envelope, 1e-3))
    if background == "none":
        level = np.full(grid.shape, np.nan)
    bottom.plot(grid / timeline.rate_hz / 60, level, color="#2e7d32", lw=1)
    bottom.set_ylim(-bed_level_lu + BED_DUCK_DB - 12, -bed_level_lu + 6)
    bottom.set_ylabel("background\n(LU under voice)")
    bottom.set_xlabel("minutes")
    bottom.set_xlim(0, timeline.seconds / 60)
    bottom.grid(alpha=0.3)
    if background == "none":
        bottom.text(timeline.seconds / 60 / 2, -bed_level_lu - 5, "no background", ha="center")


def _clock(seconds: float) -> str:
    return f"{int(seconds // 60)}:{seconds % 60:04.1f}"
