"""FileSource reads every supported encoding and rate exactly, streams, and explains bad files."""
from __future__ import annotations

import struct
import tracemalloc

import numpy as np
import pytest
import soundfile as sf

from quietland import audiofile
from quietland.audiofile import AudioFileError, FileSource


def signal(sr: int, seconds: float, channels: int = 1, seed: int = 0) -> np.ndarray:
    """A seeded test signal within +-0.9: a sine per channel plus noise; shape (n,) or (n, channels)."""
    rng = np.random.default_rng(seed)
    n = int(round(sr * seconds))
    t = np.arange(n) / sr
    cols = [0.5 * np.sin(2 * np.pi * (220 + 110 * c) * t) + rng.uniform(-0.3, 0.3, n) for c in range(channels)]
    x = np.stack(cols, axis=1) if channels > 1 else cols[0]
    return x.astype(np.float32)


def read_all(src: FileSource, block_size: int) -> np.ndarray:
    return np.concatenate(list(src.blocks(block_size)))


# Largest error expected from encoding a value in [-1, 1) with each subtype and reading it back.
SUBTYPE_TOLERANCE = {"PCM_16": 2.0**-15, "PCM_24": 2.0**-23, "PCM_32": 2.0**-31, "FLOAT": 0.0, "DOUBLE": 1e-7}


@pytest.mark.parametrize(
    "fmt, subtype",
    [("WAV", "PCM_16"), ("WAV", "PCM_24"), ("WAV", "PCM_32"), ("WAV", "FLOAT"), ("WAV", "DOUBLE"),
     ("FLAC", "PCM_16"), ("FLAC", "PCM_24")],
)
def test_reads_each_encoding(tmp_path, fmt, subtype):
    x = signal(44100, 0.5)
    path = tmp_path / f"x.{fmt.lower()}"
    sf.write(path, x, 44100, format=fmt, subtype=subtype)
    src = FileSource(path)
    assert (src.sample_rate, src.channels, src.frames, src.subtype) == (44100, 1, len(x), subtype)
    assert src.duration_s == pytest.approx(0.5)
    y = read_all(src, 1024)
    assert y.dtype == np.float32 and y.shape == x.shape
    np.testing.assert_allclose(y, x, rtol=0, atol=SUBTYPE_TOLERANCE[subtype] + 1e-7)
    assert src.warnings == []


@pytest.mark.parametrize("sr", [8000, 22050, 44100, 48000, 96000])
def test_sample_rates(tmp_path, sr):
    x = signal(sr, 0.25, seed=sr)
    path = tmp_path / f"x{sr}.wav"
    sf.write(path, x, sr, subtype="FLOAT")
    src = FileSource(path)
    assert src.sample_rate == sr
    assert src.frames == len(x) == round(0.25 * sr)
    np.testing.assert_array_equal(read_all(src, 512), x)


@pytest.mark.parametrize("channels", [2, 3])
def test_multichannel_mixdown_is_the_mean(tmp_path, channels):
    x = signal(48000, 0.3, channels=channels)
    path = tmp_path / "multi.wav"
    sf.write(path, x, 48000, subtype="FLOAT")
    src = FileSource(path)
    assert src.channels == channels
    y = read_all(src, 1000)
    assert y.ndim == 1 and y.dtype == np.float32
    np.testing.assert_allclose(y, x.mean(axis=1), rtol=0, atol=1e-7)
    # and the channels really differ, so a wrong mix (one channel, a sum) would fail
    assert np.max(np.abs(x[:, 0] - x[:, 1])) > 0.1


@pytest.mark.parametrize("block_size", [1, 7, 1024, 4410, 10**6])
def test_blocks_concatenate_to_the_whole_file(tmp_path, block_size):
    x = signal(44100, 0.1)
    path = tmp_path / "x.wav"
    sf.write(path, x, 44100, subtype="FLOAT")
    blocks = list(FileSource(path).blocks(block_size))
    assert all(b.shape == (block_size,) for b in blocks[:-1])
    assert 1 <= len(blocks[-1]) <= block_size
    np.testing.assert_array_equal(np.concatenate(blocks), x)


def test_blocks_can_be_read_twice_and_are_independent_arrays(tmp_path):
    x = signal(8000, 0.2)
    path = tmp_path / "x.wav"
    sf.write(path, x, 8000, subtype="FLOAT")
    src = FileSource(path)
    first = list(src.blocks(256))
    first[0][:] = 0  # a caller may modify what it was given
    np.testing.assert_array_equal(read_all(src, 256), x)


def test_streams_without_loading_the_file(tmp_path):
    sr, seconds = 48000, 120  # (long enough that the audio decoded at a time, READ_FRAMES, is a small part of it)
    path = tmp_path / "long.wav"
    with sf.SoundFile(path, "w", sr, 2, subtype="FLOAT") as f:
        for i in range(seconds):
            f.write(signal(sr, 1.0, channels=2, seed=i))
    file_bytes = path.stat().st_size  # about 46 MB
    src = FileSource(path)
    tracemalloc.start()
    n = 0
    for block in src.blocks(4096):
        n += len(block)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert n == sr * seconds
    assert peak < file_bytes / 20


def test_block_size_must_be_positive(tmp_path):
    path = tmp_path / "x.wav"
    sf.write(path, signal(8000, 0.1), 8000)
    with pytest.raises(ValueError):
        next(FileSource(path).blocks(0))


# ---------------------------------------------------------------- bad files

def wav_bytes(tmp_path, seconds: float = 1.0, sr: int = 16000) -> bytes:
    path = tmp_path / "good.wav"
    sf.write(path, signal(sr, seconds), sr, subtype="PCM_16")
    return path.read_bytes()


def assert_one_sentence_naming(exc: AudioFileError, path) -> None:
    message = str(exc)
    assert str(path) in message
    assert "\n" not in message
    assert message.endswith(".")


def test_missing_file(tmp_path):
    path = tmp_path / "nope.wav"
    with pytest.raises(AudioFileError, match="does not exist") as info:
        FileSource(path)
    assert_one_sentence_naming(info.value, path)


def test_directory(tmp_path):
    with pytest.raises(AudioFileError, match="is a directory") as info:
        FileSource(tmp_path)
    assert_one_sentence_naming(info.value, tmp_path)


def test_text_file_named_wav(tmp_path):
    path = tmp_path / "notes.wav"
    path.write_text("squat jumps 3x8\n" * 20)
    with pytest.raises(AudioFileError, match="not an audio file") as info:
        FileSource(path)
    assert_one_sentence_naming(info.value, path)


def test_empty_wav(tmp_path):
    path = tmp_path / "empty.wav"
    sf.write(path, np.zeros(0, np.float32), 44100)
    with pytest.raises(AudioFileError, match="no audio") as info:
        FileSource(path)
    assert_one_sentence_naming(info.value, path)


def test_wav_cut_inside_its_header_is_an_error(tmp_path):
    path = tmp_path / "cut.wav"
    path.write_bytes(wav_bytes(tmp_path)[:30])
    with pytest.raises(AudioFileError) as info:
        FileSource(path)
    assert_one_sentence_naming(info.value, path)


def test_wav_with_header_but_no_data_is_an_error(tmp_path):
    path = tmp_path / "cut.wav"
    path.write_bytes(wav_bytes(tmp_path)[:44])
    with pytest.raises(AudioFileError, match="truncated") as info:
        FileSource(path)
    assert_one_sentence_naming(info.value, path)


def test_truncated_wav_is_read_with_a_warning(tmp_path):
    data = wav_bytes(tmp_path, seconds=1.0, sr=16000)  # 44-byte header + 32000 bytes
    path = tmp_path / "cut.wav"
    path.write_bytes(data[: 44 + 16000])  # half the samples
    src = FileSource(path)
    assert src.frames == 8000
    assert len(src.warnings) == 1
    warning = src.warnings[0]
    assert str(path) in warning and "truncated" in warning and "1.000 s" in warning and "0.500 s" in warning
    assert len(read_all(src, 1024)) == 8000


def _declare(data: bytes, n_bytes: int) -> bytes:
    """``data`` (a WAV) with its data chunk's size set to ``n_bytes``, as a writer that has not updated it yet."""
    i = data.index(b"data")
    return data[: i + 4] + struct.pack("<I", n_bytes) + data[i + 8 :]


@pytest.mark.parametrize("subtype, fmt", [("PCM_U8", "WAV"), ("PCM_16", "WAV"), ("PCM_24", "WAV"), ("PCM_32", "WAVEX"),
                                          ("FLOAT", "WAV"), ("DOUBLE", "WAVEX")])
@pytest.mark.parametrize("declared", [0, 7, 16001])
def test_audio_past_what_the_header_declares_is_read_and_said(tmp_path, subtype, fmt, declared):
    """A WAV still being written (or never closed: a killed recorder) holds more audio than its header declares:
    16 s of it were analysed as 0.5 s, 0 reps and no word, and a header declaring none was 'contains no audio'.
    The audio after the declared length is now read as well (the same samples as the whole file's), and said."""
    rng = np.random.default_rng(3)
    audio = (rng.standard_normal((32000, 2)) * 0.2).clip(-1, 1).astype(np.float32)
    whole = tmp_path / "whole.wav"
    sf.write(whole, audio, 16000, subtype=subtype, format=fmt)
    expected = np.concatenate(list(FileSource(whole).blocks(4096)))
    data = whole.read_bytes()
    i = data.index(b"data")
    path = tmp_path / "growing.wav"
    path.write_bytes(data[: i + 4] + struct.pack("<I", declared) + data[i + 8 :])
    src = FileSource(path)
    assert src.frames == 32000 and len(src.warnings) == 1
    warning = src.warnings[0]
    byte_rate = struct.unpack("<I", data[28:32])[0]  # (the fmt chunk's, first in both layouts)
    assert str(path) in warning and f" declares {declared / byte_rate:.3f} s of audio, but about " in warning
    assert " more follows it" in warning and "all of it is analysed" in warning
    assert np.array_equal(np.concatenate(list(src.blocks(1000))), expected)


def test_chunks_after_the_audio_are_no_undeclared_audio(tmp_path):
    data = wav_bytes(tmp_path, seconds=2.0, sr=16000)
    tagged = tmp_path / "tagged.wav"  # an INFO list after the audio, as many programs write
    tagged.write_bytes(data + b"LIST" + struct.pack("<I", 26) + b"INFOISFT" + struct.pack("<I", 14) + b"quietland 0.1\0")
    src = FileSource(tagged)
    assert src.warnings == [] and src.frames == 32000


def test_standard_input_as_a_dash_is_told_to_be_saved_first(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # (no file called '-' here)
    with pytest.raises(AudioFileError, match="standard input") as info:  # was "'-' does not exist."
        FileSource("-")
    assert_one_sentence_naming(info.value, "'-'")
    assert "save the audio to a file first" in str(info.value)


def test_a_headerless_raw_file_is_one_sentence(tmp_path):
    path = tmp_path / "samples.raw"
    path.write_bytes(bytes(64000))
    with pytest.raises(AudioFileError, match="not an audio file") as info:  # (was a TypeError traceback)
        FileSource(path)
    assert_one_sentence_naming(info.value, path)


def test_whole_wav_has_no_truncation_warning(tmp_path):
    path = tmp_path / "whole.wav"
    path.write_bytes(wav_bytes(tmp_path))
    assert FileSource(path).warnings == []


def test_truncated_flac_is_read_as_far_as_it_goes_with_a_warning(tmp_path):
    path = tmp_path / "x.flac"
    sf.write(path, signal(48000, 2.0), 48000, subtype="PCM_24")
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    src = FileSource(path)
    n = len(read_all(src, 1024))
    assert 0 < n < 96000
    assert len(src.warnings) == 1 and str(path) in src.warnings[0] and "damaged" in src.warnings[0]


def test_a_truncated_flac_reads_the_same_audio_at_every_block_size(tmp_path):
    """Decoding fails part-way; what was decoded before the failure must not depend on the block size asked for
    (a read of a whole block that failed used to lose the block: 20.4 s of a cut FLAC at 16-sample blocks, 19.3 s
    at 65536, nothing and an error at 1048576)."""
    path = tmp_path / "x.flac"
    sf.write(path, signal(44100, 40.0), 44100, subtype="PCM_16")
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    reads = {size: read_all(FileSource(path), size) for size in (16, 1000, 65536, 1048576)}
    first = reads[16]
    assert 0 < first.size < 44100 * 40
    for size, audio in reads.items():
        np.testing.assert_array_equal(audio, first, err_msg=f"block size {size}")


def test_a_cut_flac_loses_no_more_than_a_salvage_read_of_its_audio(tmp_path):
    """The file is decoded READ_FRAMES at a time, and a read that fails loses all it had decoded; the frames it
    held are read again SALVAGE_FRAMES at a time, so what is kept is what reads that small keep."""
    path = tmp_path / "x.flac"
    sf.write(path, signal(44100, 20.0), 44100, subtype="PCM_16")
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    kept = []
    with sf.SoundFile(path) as f:
        try:
            while len(part := f.read(audiofile.SALVAGE_FRAMES, dtype="float32")):
                kept.append(part)
        except sf.SoundFileError:
            pass
    small = np.concatenate(kept)
    assert small.size % audiofile.READ_FRAMES, "the cut must fall inside a large read for this test to tell"
    src = FileSource(path)
    np.testing.assert_array_equal(read_all(src, 65536), small)
    assert len(src.warnings) == 1 and f"decoding stopped at {small.size / 44100:.3f} s" in src.warnings[0]


def test_samples_that_are_not_numbers_are_read_as_silence_with_a_warning(tmp_path):
    x = signal(44100, 1.0)
    x[1000], x[2000], x[3000] = np.nan, np.inf, -np.inf
    path = tmp_path / "x.wav"
    sf.write(path, x, 44100, subtype="FLOAT")
    src = FileSource(path)
    y = read_all(src, 4096)
    assert np.isfinite(y).all() and y[1000] == y[2000] == y[3000] == 0.0
    clean = np.where(np.isfinite(x), x, 0.0)
    np.testing.assert_array_equal(y, clean)
    assert len(src.warnings) == 1 and "3 samples that are not numbers" in src.warnings[0] and str(path) in src.warnings[0]


@pytest.mark.skipif("MP3" not in sf.available_formats(), reason="this libsndfile writes no MP3")
def test_a_cut_mp3_reads_to_its_end_with_a_warning(tmp_path, capfd):
    """libsndfile reads a cut MP3 to where it stops with no error, short of the length its header gave; what its
    decoder prints about the cut (an inexact seek table) is held back from stderr."""
    path = tmp_path / "x.mp3"
    sf.write(path, signal(44100, 4.0) * 0.5, 44100, format="MP3", subtype="MPEG_LAYER_III")
    whole = FileSource(path)
    assert len(read_all(whole, 4096)) == whole.frames and whole.warnings == []
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    src = FileSource(path)
    n = len(read_all(src, 4096))
    assert 0 < n < src.frames
    assert len(src.warnings) == 1 and "is truncated" in src.warnings[0] and f"{n / 44100:.3f} s" in src.warnings[0]
    assert capfd.readouterr().err == ""


@pytest.mark.skipif("MP3" not in sf.available_formats(), reason="this libsndfile writes no MP3")
def test_a_damaged_mp3_is_one_warning_not_the_decoders_chatter(tmp_path):
    """Zeroed stretches in an MP3: its decoder skips them, printing a line for each fault on stderr itself; analyze
    says instead, once, that the file is damaged and how much of it was read."""
    import json
    import subprocess
    import sys

    path = tmp_path / "x.mp3"
    sf.write(path, signal(44100, 8.0) * 0.5, 44100, format="MP3", subtype="MPEG_LAYER_III")
    data = bytearray(path.read_bytes())
    for at in range(8000, len(data) - 8000, 6000):
        data[at : at + 200] = bytes(200)
    path.write_bytes(bytes(data))
    done = subprocess.run([sys.executable, "-m", "quietland", "analyze", str(path), "--json"],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    lines = done.stderr.splitlines()
    assert len(lines) == 1 and "is damaged: the MP3 decoder reported" in lines[0], done.stderr
    assert "libmpg123" not in done.stderr and "Note:" not in done.stderr
    doc = json.loads(done.stdout)
    assert [w for w in doc["warnings"] if "is damaged" in w] == [lines[0].removeprefix("quietland: warning: ")]


def test_holding_the_decoders_output_passes_other_lines_on(capfd):
    """While the decoder's output is held back, a line that is not the decoder's still reaches stderr."""
    import os

    from quietland.audiofile import _DecoderChatter

    chatter = _DecoderChatter()
    with chatter:
        os.write(2, b"Note: Illegal Audio-MPEG-Header 0x00000000 at offset 35023.\nsomething else\n")
    assert capfd.readouterr().err == ""  # held until closed
    assert chatter.close() == ["Note: Illegal Audio-MPEG-Header 0x00000000 at offset 35023."]
    assert capfd.readouterr().err == "something else\n"
    os.write(2, b"after\n")
    assert capfd.readouterr().err == "after\n"  # stderr is itself again


@pytest.mark.parametrize("subtype", ["IMA_ADPCM", "MS_ADPCM"])
def test_a_whole_adpcm_wav_is_not_called_truncated(tmp_path, subtype):
    """Its header's byte rate is an average, so the length it implies is off by a block: no warning."""
    path = tmp_path / "x.wav"
    sf.write(path, (signal(44100, 3.0) * 0.5), 44100, subtype=subtype)
    src = FileSource(path)
    assert src.warnings == [] and len(read_all(src, 4096)) == src.frames


def test_a_file_name_that_is_not_utf8_opens(tmp_path):
    import os

    x = signal(16000, 0.5)
    name = os.path.join(os.fsencode(tmp_path), b"take-\xff.wav")
    with open(name, "wb") as fh:
        sf.write(fh, x, 16000, format="WAV", subtype="FLOAT")
    src = FileSource(os.fsdecode(name))
    np.testing.assert_array_equal(read_all(src, 1024), x)


def test_a_pipe_is_refused_in_one_sentence(tmp_path):
    import os

    fifo = tmp_path / "pipe.wav"
    os.mkfifo(fifo)
    import threading

    fd = os.open(fifo, os.O_RDWR | os.O_NONBLOCK)  # (a writer, so that opening it to read does not block)
    errors: list[AudioFileError] = []

    def attempt() -> None:
        try:
            FileSource(fifo)
        except AudioFileError as exc:
            errors.append(exc)

    worker = threading.Thread(target=attempt, daemon=True)
    worker.start()
    worker.join(10.0)
    os.close(fd)
    assert not worker.is_alive(), "opening a pipe waited for audio that never comes"
    assert len(errors) == 1 and "pipe" in str(errors[0])
    assert_one_sentence_naming(errors[0], fifo)


@pytest.mark.parametrize("sr", [4000, 7999, 96001, 192000])
def test_unsupported_sample_rate(tmp_path, sr):
    path = tmp_path / f"x{sr}.wav"
    sf.write(path, np.zeros(100, np.float32), sr)
    with pytest.raises(AudioFileError, match=f"{sr} Hz") as info:
        FileSource(path)
    assert_one_sentence_naming(info.value, path)
