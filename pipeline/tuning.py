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

BED_DUCK_DB = -12.0  # extra attenuation of the bed while a line is spoken
DUCK_RAMP_S = 0.35
FADE_IN_S = 3.0
FADE_OUT_S = 6.0

CHIME_S = 4.0

# Cue names a template may use; the renderer synthesizes each.
CUE_NAMES = ("chime",)
MAX_LINE_CHARS = 600

# Publishing (tags, feeds, phones).
COVER_PX = 1400  # Apple Podcasts wants square art, 1400 to 3000 px a side
COVER_FORMATS = ("JPEG", "PNG")
SAFE_NAME_MAX_CHARS = 96  # well under FAT32/exFAT's 255 UTF-16 units, with room for a folder
# Podcasting 2.0 podcast:guid is UUIDv5(this namespace, feed URL without scheme).
PODCAST_GUID_NAMESPACE = "ead4c236-bf58-58c6-a2c6-a6b28d128cb6"
SAFETY_NOTE = (
    "Safety: tense each muscle group firmly but not painfully. If you feel intense or "
    "shooting pain, stop tensing and relax; if you have an injury, back pain or a medical "
    "condition, ask your doctor before practising. Do not listen while driving."
)

# `pmr plan` estimates a line it has never synthesized from its length: characters per second
# of speech at pace 1.0 (measured on piper-joe: about 18 per second at its pace 0.92).
SPEECH_CHARS_PER_S = 19.5

# gTTS (Google Translate TTS, online). Google takes at most 100 characters per request.
GTTS_MAX_CHARS = 100
GTTS_SENTENCE_PAUSE_S = 0.35  # silence joining pieces cut at a sentence end
GTTS_CLAUSE_PAUSE_S = 0.2  # ... and at a comma, semicolon, colon or dash
GTTS_CONNECT_TIMEOUT_S = 5.0
GTTS_READ_TIMEOUT_S = 15.0
GTTS_RETRIES = 4  # after the first attempt, on 429, 5xx, timeouts and refused connections
GTTS_BACKOFF_S = 0.5  # first retry delay; doubles each time, with full jitter
GTTS_BACKOFF_MAX_S = 20.0
GTTS_RETRY_AFTER_MAX_S = 60.0  # a longer Retry-After means "unavailable", not "wait"
GTTS_CONCURRENCY = 3  # requests in flight at once per process
GTTS_RATE_PER_S = 4.0  # request starts per second per process

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
