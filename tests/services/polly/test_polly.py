"""Polly through boto3 against a real server: audio formats, speech marks, SSML, lexicons, tasks, errors."""

from __future__ import annotations

import io
import json
import time
import wave
from typing import Any

import av
import botocore.exceptions
import pytest
from tests.services.polly.conftest import needs_engines

pytestmark = needs_engines

SENTENCE = "The quick brown fox jumps over the lazy dog."


def _duration(data: bytes) -> float:
    with av.open(io.BytesIO(data)) as container:
        stream = container.streams.audio[0]
        samples = sum(frame.samples for frame in container.decode(stream))
        return samples / stream.codec_context.sample_rate


def _marks(body: bytes) -> list[dict[str, Any]]:
    return [json.loads(line) for line in body.decode("utf-8").splitlines()]


def _error(call: Any, **kwargs: Any) -> botocore.exceptions.ClientError:
    with pytest.raises(botocore.exceptions.ClientError) as caught:
        call(**kwargs)
    return caught.value


def test_mp3_and_ogg_are_real_audio_of_plausible_length(polly: Any) -> None:
    mp3 = polly.synthesize_speech(Text=SENTENCE, VoiceId="Joanna", OutputFormat="mp3")
    assert mp3["ContentType"] == "audio/mpeg"
    assert mp3["RequestCharacters"] == len(SENTENCE)
    data = mp3["AudioStream"].read()
    with av.open(io.BytesIO(data)) as container:
        assert container.streams.audio[0].codec_context.name.startswith("mp3")
        assert container.streams.audio[0].codec_context.sample_rate == 22050
    # Nine words spoken at a natural pace: between 1.5 and 6 seconds.
    assert 1.5 < _duration(data) < 6.0
    ogg = polly.synthesize_speech(Text=SENTENCE, VoiceId="Matthew", OutputFormat="ogg_vorbis", SampleRate="16000")
    assert ogg["ContentType"] == "audio/ogg"
    ogg_data = ogg["AudioStream"].read()
    assert ogg_data[:4] == b"OggS"
    with av.open(io.BytesIO(ogg_data)) as container:
        assert container.streams.audio[0].codec_context.name == "vorbis"
        assert container.streams.audio[0].codec_context.sample_rate == 16000


def test_pcm_is_headerless_16_bit_at_the_requested_rate(polly: Any) -> None:
    at_16k = polly.synthesize_speech(Text=SENTENCE, VoiceId="Joanna", OutputFormat="pcm")["AudioStream"].read()
    at_8k = polly.synthesize_speech(Text=SENTENCE, VoiceId="Joanna", OutputFormat="pcm",
                                    SampleRate="8000")["AudioStream"].read()
    assert at_16k[:4] != b"RIFF" and len(at_16k) % 2 == 0
    seconds_16k, seconds_8k = len(at_16k) / 2 / 16000, len(at_8k) / 2 / 8000
    assert 1.5 < seconds_16k < 6.0
    # Same text, same voice: the same duration whatever the rate (within the resampler's edges).
    assert abs(seconds_16k - seconds_8k) < 0.3
    wav = io.BytesIO()
    with wave.open(wav, "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(16000)
        out.writeframes(at_16k)
    assert abs(_duration(wav.getvalue()) - seconds_16k) < 0.01


def test_word_and_sentence_marks_match_the_audio(polly: Any) -> None:
    text = "Mary had a little lamb. Its fleece was white as snow."
    audio = polly.synthesize_speech(Text=text, VoiceId="Joanna", OutputFormat="mp3")["AudioStream"].read()
    duration_ms = _duration(audio) * 1000
    body = polly.synthesize_speech(Text=text, VoiceId="Joanna", OutputFormat="json",
                                   SpeechMarkTypes=["sentence", "word", "viseme"])
    assert body["ContentType"] == "application/x-json-stream"
    marks = _marks(body["AudioStream"].read())
    words = [m for m in marks if m["type"] == "word"]
    sentences = [m for m in marks if m["type"] == "sentence"]
    assert [w["value"] for w in words] == text.split()
    assert [s["value"] for s in sentences] == ["Mary had a little lamb.", "Its fleece was white as snow."]
    for word in words:
        assert text.encode()[word["start"]:word["end"]].decode() == word["value"]
    times = [w["time"] for w in words]
    assert times == sorted(times) and len(set(times)) == len(times)
    assert times[0] >= 0 and times[-1] < duration_ms
    # The second sentence starts well after the first one's first word and before its own first word.
    assert times[0] < sentences[1]["time"] <= words[5]["time"]
    assert {m["value"] for m in marks if m["type"] == "viseme"} >= {"p", "sil"}


def test_ssml_breaks_prosody_say_as_and_marks(polly: Any) -> None:
    plain = polly.synthesize_speech(Text="<speak>One two.</speak>", TextType="ssml", VoiceId="Joanna",
                                    OutputFormat="pcm")["AudioStream"].read()
    paused = polly.synthesize_speech(Text='<speak>One <break time="1500ms"/> two.</speak>', TextType="ssml",
                                     VoiceId="Joanna", OutputFormat="pcm")["AudioStream"].read()
    assert (len(paused) - len(plain)) / 2 / 16000 > 1.2
    slow = polly.synthesize_speech(Text='<speak><prosody rate="x-slow">One two three.</prosody></speak>',
                                   TextType="ssml", VoiceId="Joanna", OutputFormat="pcm")["AudioStream"].read()
    normal = polly.synthesize_speech(Text="<speak>One two three.</speak>", TextType="ssml", VoiceId="Joanna",
                                     OutputFormat="pcm")["AudioStream"].read()
    assert len(slow) > 1.5 * len(normal)
    ssml = ('<speak>Call <say-as interpret-as="characters">ABC</say-as> now.<mark name="after"/> '
            '<sub alias="World Wide Web Consortium">W3C</sub> rocks.</speak>')
    marks = _marks(polly.synthesize_speech(Text=ssml, TextType="ssml", VoiceId="Joanna", OutputFormat="json",
                                           SpeechMarkTypes=["word", "ssml"])["AudioStream"].read())
    words = [m for m in marks if m["type"] == "word"]
    assert [w["value"] for w in words] == ["Call", "ABC", "now.", "W3C", "rocks."]
    [mark] = [m for m in marks if m["type"] == "ssml"]
    assert mark["value"] == "after"
    assert ssml.encode()[mark["start"]:mark["end"]] == b'<mark name="after"/>'
    assert words[2]["time"] < mark["time"] <= words[3]["time"]


def test_lexicons_are_stored_listed_applied_and_deleted(polly: Any) -> None:
    pls = ('<?xml version="1.0" encoding="UTF-8"?><lexicon version="1.0" '
           'xmlns="http://www.w3.org/2005/01/pronunciation-lexicon" alphabet="ipa" xml:lang="en-US">'
           '<lexeme><grapheme>W3C</grapheme><alias>the World Wide Web Consortium of many nations</alias></lexeme>'
           '</lexicon>')
    polly.put_lexicon(Name="webterms", Content=pls)
    got = polly.get_lexicon(Name="webterms")
    assert got["Lexicon"]["Content"] == pls
    assert got["LexiconAttributes"]["LexemesCount"] == 1 and got["LexiconAttributes"]["LanguageCode"] == "en-US"
    assert "webterms" in [item["Name"] for item in polly.list_lexicons()["Lexicons"]]
    bare = polly.synthesize_speech(Text="W3C", VoiceId="Joanna", OutputFormat="pcm")["AudioStream"].read()
    expanded = polly.synthesize_speech(Text="W3C", VoiceId="Joanna", OutputFormat="pcm",
                                       LexiconNames=["webterms"])["AudioStream"].read()
    assert len(expanded) > 2 * len(bare)
    polly.delete_lexicon(Name="webterms")
    assert _error(polly.get_lexicon, Name="webterms").response["Error"]["Code"] == "LexiconNotFoundException"
    bad = _error(polly.put_lexicon, Name="broken", Content="<lexicon")
    assert bad.response["Error"]["Code"] == "InvalidLexiconException"


def test_describe_voices_reports_what_speaks(polly: Any) -> None:
    voices = {v["Id"]: v for v in polly.describe_voices()["Voices"]}
    assert voices["Joanna"]["LanguageCode"] == "en-US"
    # English voices are all spoken by one US male voice model, and say so.
    assert voices["Joanna"]["Gender"] == "Male"
    assert voices["Lucia"]["LanguageCode"] == "es-ES" and voices["Lucia"]["Gender"] == "Female"
    spanish = polly.describe_voices(LanguageCode="es-ES")["Voices"]
    assert spanish and all(v["LanguageCode"] == "es-ES" for v in spanish)
    audio = polly.synthesize_speech(Text="Hola, buenos días.", VoiceId="Lucia", OutputFormat="mp3")
    assert _duration(audio["AudioStream"].read()) > 0.5


def test_bad_input_gets_aws_errors_and_the_server_stays_up(polly: Any) -> None:
    cases = [
        (dict(Text="", VoiceId="Joanna", OutputFormat="mp3"), "ValidationException"),
        (dict(Text="x " * 3100, VoiceId="Joanna", OutputFormat="mp3"), "TextLengthExceededException"),
        (dict(Text="<speak>unclosed", TextType="ssml", VoiceId="Joanna", OutputFormat="mp3"), "InvalidSsmlException"),
        (dict(Text="<speak><blink>x</blink></speak>", TextType="ssml", VoiceId="Joanna", OutputFormat="mp3"),
         "InvalidSsmlException"),
        (dict(Text="hi", VoiceId="Joanna", OutputFormat="pcm", SampleRate="22050"), "InvalidSampleRateException"),
        (dict(Text="hi", VoiceId="Joanna", OutputFormat="mp3", SpeechMarkTypes=["word"]),
         "MarksNotSupportedForFormatException"),
        (dict(Text="hi", VoiceId="Joanna", OutputFormat="json", SpeechMarkTypes=["ssml"]),
         "SsmlMarksNotSupportedForTextTypeException"),
        (dict(Text="hi", VoiceId="Joanna", OutputFormat="mp3", Engine="generative"), "EngineNotSupportedException"),
        (dict(Text="hi", VoiceId="Joanna", OutputFormat="mp3", LexiconNames=["nosuch"]), "LexiconNotFoundException"),
    ]
    for kwargs, code in cases:
        assert _error(polly.synthesize_speech, **kwargs).response["Error"]["Code"] == code, kwargs
    assert polly.synthesize_speech(Text="Still here.", VoiceId="Joanna", OutputFormat="mp3")["AudioStream"].read()


def test_synthesis_task_writes_audio_to_s3(polly: Any, s3: Any, bucket: str) -> None:
    task = polly.start_speech_synthesis_task(Text=SENTENCE, VoiceId="Joanna", OutputFormat="mp3",
                                             OutputS3BucketName=bucket, OutputS3KeyPrefix="speech/")["SynthesisTask"]
    assert task["TaskStatus"] in ("scheduled", "inProgress", "completed")
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        task = polly.get_speech_synthesis_task(TaskId=task["TaskId"])["SynthesisTask"]
        if task["TaskStatus"] in ("completed", "failed"):
            break
        time.sleep(0.2)
    assert task["TaskStatus"] == "completed", task
    key = f"speech/{task['TaskId']}.mp3"
    assert task["OutputUri"].endswith(f"/{bucket}/{key}")
    data = s3.get_object(Bucket=bucket, Key=key)["Body"].read()
    assert 1.5 < _duration(data) < 6.0
    listed = polly.list_speech_synthesis_tasks(Status="completed")["SynthesisTasks"]
    assert task["TaskId"] in [t["TaskId"] for t in listed]
    missing = _error(polly.start_speech_synthesis_task, Text="hi", VoiceId="Joanna", OutputFormat="mp3",
                     OutputS3BucketName="no-such-bucket-here")
    assert missing.response["Error"]["Code"] == "InvalidS3BucketException"
