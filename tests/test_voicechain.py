"""The voice chain, measured with plain FFTs on test signals (not with the chain's own code)."""

import numpy as np
import pytest

from pipeline.errors import RenderError
from pipeline.sound.voicechain import DEFAULT_CHAIN, DRY, VoiceChain, chain_for

RATE = 44_100


def band_db(x: np.ndarray, lo: float, hi: float) -> float:
    spectrum = np.abs(np.fft.rfft(x)) ** 2
    freqs = np.fft.rfftfreq(x.size, 1 / RATE)
    return float(10 * np.log10(spectrum[(freqs >= lo) & (freqs < hi)].sum() + 1e-20))


def tone(freq: float, seconds: float = 1.0, level: float = 0.1) -> np.ndarray:
    t = np.arange(round(seconds * RATE)) / RATE
    return (level * np.sin(2 * np.pi * freq * t)).astype(np.float32)


def test_high_pass_removes_rumble_and_keeps_the_voice_band() -> None:
    x = tone(30.0) + tone(1000.0)
    y = DEFAULT_CHAIN.apply(x, RATE)
    assert band_db(x, 20, 40) - band_db(y, 20, 40) > 10
    assert abs(band_db(x, 900, 1100) - band_db(y, 900, 1100)) < 1.0


def test_eq_is_soft() -> None:
    """Warmth and presence move no band by more than 2 dB."""
    for freq in (160.0, 500.0, 1000.0, 3000.0):
        x = tone(freq)
        assert abs(band_db(DEFAULT_CHAIN.apply(x, RATE), 0, 20000) - band_db(x, 0, 20000)) < 2.0


def test_de_esser_turns_down_a_hiss_but_not_a_vowel_under_it() -> None:
    rng = np.random.default_rng(1)
    hiss = rng.standard_normal(RATE).astype(np.float32) * 0.1
    spectrum = np.fft.rfft(hiss)
    freqs = np.fft.rfftfreq(hiss.size, 1 / RATE)
    spectrum[(freqs < 5500) | (freqs > 8500)] = 0  # an "s": all its energy in 5.5-8.5 kHz
    s = np.fft.irfft(spectrum, hiss.size).astype(np.float32)
    vowel = tone(220.0, level=0.3) + tone(6000.0, level=0.003)  # a vowel with a little air
    no_eq = VoiceChain(deess=True, warmth_db=0.0, presence_db=0.0)  # the de-esser, asked for
    assert band_db(s, 5500, 8500) - band_db(no_eq.apply(s, RATE), 5500, 8500) > 3
    assert band_db(vowel, 5900, 6100) - band_db(no_eq.apply(vowel, RATE), 5900, 6100) < 1


def test_the_default_chain_leaves_sibilance_as_it_is() -> None:
    """The de-esser measured below the dry voice (DNSMOS P.808), so the default has none."""
    rng = np.random.default_rng(2)
    spectrum = np.fft.rfft(rng.standard_normal(RATE) * 0.1)
    freqs = np.fft.rfftfreq(RATE, 1 / RATE)
    spectrum[(freqs < 5500) | (freqs > 8500)] = 0
    s = np.fft.irfft(spectrum, RATE).astype(np.float32)
    assert abs(band_db(s, 5500, 8500) - band_db(DEFAULT_CHAIN.apply(s, RATE), 5500, 8500)) < 1


def test_room_adds_early_reflections_only() -> None:
    click = np.zeros(RATE // 2, dtype=np.float32)
    click[1000] = 0.5
    wet = chain_for("small", dry=True).apply(click, RATE)
    echo = np.flatnonzero(np.abs(wet) > 1e-4)
    assert echo[0] == 1000 and (echo[-1] - 1000) / RATE < 0.04  # no tail past 40 ms
    assert DRY.apply(click, RATE).tolist() == click.tolist()


def test_unknown_room_is_a_user_error() -> None:
    with pytest.raises(RenderError, match="--room 'smal' \\(did you mean 'small'\\?\\); valid"):
        chain_for("smal")
