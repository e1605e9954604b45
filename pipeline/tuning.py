"""Tuning constants in one place, apart from logic. Units are in the names."""

SAMPLE_RATE_HZ = 44_100
CHANNELS = 2
BLOCK_FRAMES = 2 * SAMPLE_RATE_HZ  # 2 s blocks: large enough for numpy, small enough for memory
MP3_BITRATE = "128k"

# Narration clips are trimmed to this much silence on each side so timing is exact.
CLIP_PAD_S = 0.08
CLIP_SILENCE_DBFS = -45.0
# Voice peaks are set here before the profile's gain; the bed sits far below.
VOICE_PEAK_DBFS = -3.0

BED_LEVEL_DBFS = -32.0  # the pad's RMS level in pauses
BED_DUCK_DB = -12.0  # extra attenuation of the bed while a line is spoken
DUCK_RAMP_S = 0.35
FADE_IN_S = 3.0
FADE_OUT_S = 6.0

CHIME_S = 4.0
CHIME_PEAK_DBFS = -14.0

# Cue names a template may use; the renderer synthesizes each.
CUE_NAMES = ("chime",)
MAX_LINE_CHARS = 600

# Sound design and loudness (issue 6). Presets: name -> (integrated LUFS, channels).
LOUDNESS_PRESETS = {"podcast": (-16.0, 2), "mono": (-19.0, 1), "sleep": (-23.0, 2)}
MIN_TARGET_LUFS, MAX_TARGET_LUFS = -36.0, -10.0
TRUE_PEAK_CEILING_DBTP = -2.0  # limiter ceiling: 1 dB under the -1 dBTP spec for MP3 overshoot
BED_BELOW_VOICE_LU = 18.0  # default --bed-level
BED_CREST_LU = 2.0  # a bed's loud moments may come this much closer to the voice, no more
MIN_BED_LEVEL_LU, MAX_BED_LEVEL_LU = 6.0, 40.0
CHIME_BELOW_VOICE_LU = 6.0
SECTION_CHIME_BELOW_VOICE_LU = 10.0
TONE_BELOW_VOICE_LU = 10.0
BED_CALIBRATION_S = 30.0  # stretch of a background measured to set its loudness...
BED_CALIBRATE_ALL_S = 90.0  # ...or all of it in sessions up to this long (sparse ones need it)
MP3_BITRATES_K = (32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320)
SAMPLE_RATES_HZ = (22_050, 24_000, 32_000, 44_100, 48_000)
# The bundled ffmpeg's libmp3lame decodes 0.45 dB below its input (flat across the spectrum,
# mono and stereo; measured with a 1 kHz sine and speech); the mix aims that much higher.
MP3_LEVEL_DB = -0.45
