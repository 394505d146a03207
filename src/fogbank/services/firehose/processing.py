"""The ProcessingConfiguration of an S3 destination: what happens to records between buffer and object.

Processors run in Firehose's fixed order whatever order they are listed in: Decompression,
CloudWatchLogProcessing, RecordDeAggregation, Lambda, MetadataExtraction, AppendDelimiterToRecord. Records a
step cannot handle leave the pipeline as failures with the error document Firehose writes under the
ErrorOutputPrefix (`processing-failed` for transforms, `partitioning-failed` for key extraction).
"""

from __future__ import annotations

import base64
import binascii
import gzip
import json
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from fogbank.services.firehose import kpl
from fogbank.services.firehose.functions import FunctionDirectory, FunctionFailed, FunctionMissing, function_name
from fogbank.services.firehose.jq import JqError, MetadataQuery

PROCESSING_FAILED = "processing-failed"
PARTITIONING_FAILED = "partitioning-failed"
FORMAT_CONVERSION_FAILED = "format-conversion-failed"

ORDER = ("Decompression", "CloudWatchLogProcessing", "RecordDeAggregation", "Lambda", "MetadataExtraction",
         "AppendDelimiterToRecord")
DEFAULT_RETRIES = 3
DEFAULT_LAMBDA_BUFFER_MB = 1.0

_LAMBDA_MESSAGES = {
    "Lambda.FunctionError": "The Lambda function was successfully invoked but it returned an error result.",
    "Lambda.ResourceNotFound": "The specified Lambda function does not exist. Use a different function that does "
                               "exist.",
    "Lambda.MissingRecordId": "One or more record Ids were not returned. Ensure that the Lambda function returns "
                              "all received record Ids.",
    "Lambda.DuplicatedRecordId": "Multiple records were returned with the same record Id. Ensure that the Lambda "
                                 "function returns unique record Ids for each record.",
    "Lambda.JsonProcessingException": "There was an error parsing returned records from the Lambda function. "
                                      "Ensure that the returned records follow the status model required by "
                                      "Firehose.",
    "Lambda.ProcessingFailedStatus": "ProcessingFailed status set for record",
}


class ProcessorError(ValueError):
    """A processor configuration Firehose would refuse; the message is what the client sees."""


class SourceRecord:
    """A buffered record as it enters processing.

    A batch holds hundreds of thousands of records, so this is a slotted class, and the record id may be given
    as a function that works it out: only Lambda transforms and error documents ever read it.
    """

    __slots__ = ("_record_id", "arrival_ms", "data", "kinesis")

    def __init__(self, data: bytes, arrival_ms: int, record_id: str | Callable[[], str],
                 kinesis: dict[str, Any] | None = None) -> None:
        self.data = data
        self.arrival_ms = arrival_ms
        self._record_id = record_id
        self.kinesis = kinesis

    @property
    def record_id(self) -> str:
        if not isinstance(self._record_id, str):
            self._record_id = self._record_id()
        return self._record_id

    def __repr__(self) -> str:
        return f"SourceRecord({self.data!r}, {self.arrival_ms}, {self.record_id!r}, {self.kinesis!r})"


_NO_KEYS: dict[str, str] = {}


class Output:
    """A record that reaches the destination, with the partition keys found for it.

    Slotted, and records without partition keys share one empty mapping: key mappings are replaced, never
    changed in place.
    """

    __slots__ = ("arrival_ms", "data", "lambda_keys", "query_keys")

    def __init__(self, data: bytes, arrival_ms: int, query_keys: dict[str, str] | None = None,
                 lambda_keys: dict[str, str] | None = None) -> None:
        self.data = data
        self.arrival_ms = arrival_ms
        self.query_keys = _NO_KEYS if query_keys is None else query_keys
        self.lambda_keys = _NO_KEYS if lambda_keys is None else lambda_keys

    def __repr__(self) -> str:
        return f"Output({self.data!r}, {self.arrival_ms}, {self.query_keys!r}, {self.lambda_keys!r})"


@dataclass
class Failure:
    """A record routed to the error output: its type names the folder, `document` is the line written."""

    error_type: str
    arrival_ms: int
    document: dict[str, Any]


@dataclass
class Processed:
    outputs: list[Output]
    failures: list[Failure]


def _params(processor: dict[str, Any]) -> dict[str, str]:
    return {p["ParameterName"]: p["ParameterValue"] for p in processor.get("Parameters") or []}


def _unescape(text: str) -> bytes:
    """AppendDelimiterToRecord's Delimiter is written with backslash escapes (`\\n`)."""
    out: list[str] = []
    i = 0
    escapes = {"n": "\n", "t": "\t", "r": "\r", "\\": "\\", "0": "\0"}
    while i < len(text):
        if text[i] == "\\" and i + 1 < len(text) and text[i + 1] in escapes:
            out.append(escapes[text[i + 1]])
            i += 2
            continue
        out.append(text[i])
        i += 1
    return "".join(out).encode()


@dataclass
class Steps:
    """A checked ProcessingConfiguration, ready to run."""

    enabled: bool = False
    decompress: bool = False
    cloudwatch_extraction: bool = False
    deaggregation: str | None = None
    deaggregation_delimiter: bytes = b""
    lambda_arn: str | None = None
    lambda_retries: int = DEFAULT_RETRIES
    lambda_buffer_bytes: int = int(DEFAULT_LAMBDA_BUFFER_MB * 1024 * 1024)
    query: MetadataQuery | None = None
    delimiter: bytes | None = None


def compile_steps(config: dict[str, Any] | None, dynamic_partitioning: bool) -> Steps:
    """Checks a ProcessingConfiguration as Firehose does when a stream is created or updated."""
    steps = Steps()
    if not config:
        return steps
    processors = config.get("Processors") or []
    steps.enabled = config.get("Enabled", True) is not False and bool(processors)
    seen: set[str] = set()
    for processor in processors:
        kind = processor["Type"]
        if kind in seen:
            raise ProcessorError(f"Processor type {kind} is specified more than once.")
        seen.add(kind)
        params = _params(processor)
        if kind == "Lambda":
            arn = params.get("LambdaArn")
            if not arn or function_name(arn) is None:
                raise ProcessorError(f"LambdaArn '{arn or ''}' is not a valid Lambda function ARN. Expected "
                                     "arn:aws:lambda:<region>:<account>:function:<name>.")
            steps.lambda_arn = arn
            steps.lambda_retries = _int_param(params, "NumberOfRetries", DEFAULT_RETRIES, 0, 300)
            size = _float_param(params, "BufferSizeInMBs", DEFAULT_LAMBDA_BUFFER_MB, 0.2, 3.0)
            steps.lambda_buffer_bytes = int(size * 1024 * 1024)
            _int_param(params, "BufferIntervalInSeconds", 60, 0, 900)
        elif kind == "MetadataExtraction":
            if not dynamic_partitioning:
                raise ProcessorError("The MetadataExtraction processor requires dynamic partitioning to be enabled.")
            query = params.get("MetadataExtractionQuery")
            engine = params.get("JsonParsingEngine")
            if not query or not engine:
                raise ProcessorError("The MetadataExtraction processor requires the MetadataExtractionQuery and "
                                     "JsonParsingEngine parameters.")
            if engine != "JQ-1.6":
                raise ProcessorError(f"JsonParsingEngine '{engine}' is not supported. Supported value: JQ-1.6.")
            try:
                steps.query = MetadataQuery(query)
            except JqError as exc:
                raise ProcessorError(f"Invalid MetadataExtractionQuery: {exc}") from None
        elif kind == "AppendDelimiterToRecord":
            steps.delimiter = _unescape(params.get("Delimiter", "\\n"))
        elif kind == "RecordDeAggregation":
            sub_type = params.get("SubRecordType", "JSON")
            if sub_type not in ("JSON", "KPL", "DELIMITED"):
                raise ProcessorError(f"SubRecordType '{sub_type}' is not supported. Supported values: JSON, KPL, "
                                     "DELIMITED.")
            steps.deaggregation = sub_type
            if sub_type == "DELIMITED":
                try:
                    steps.deaggregation_delimiter = base64.b64decode(params.get("Delimiter", ""), validate=True)
                except (binascii.Error, ValueError):
                    steps.deaggregation_delimiter = b""
                if not steps.deaggregation_delimiter:
                    raise ProcessorError("SubRecordType DELIMITED requires a base64-encoded Delimiter parameter.")
        elif kind == "Decompression":
            if params.get("CompressionFormat", "GZIP") != "GZIP":
                raise ProcessorError("The Decompression processor supports CompressionFormat GZIP only.")
            steps.decompress = True
        elif kind == "CloudWatchLogProcessing":
            steps.cloudwatch_extraction = params.get("DataMessageExtraction", "false").lower() == "true"
        else:  # pragma: no cover - the model's enum admits no other type
            raise ProcessorError(f"Processor type {kind} is not supported.")
    return steps


def _int_param(params: dict[str, str], name: str, default: int, low: int, high: int) -> int:
    text = params.get(name)
    if text is None:
        return default
    try:
        value = int(text)
    except ValueError:
        raise ProcessorError(f"Parameter {name} must be an integer, got '{text}'.") from None
    if not low <= value <= high:
        raise ProcessorError(f"Parameter {name} must be between {low} and {high}, got {value}.")
    return value


def _float_param(params: dict[str, str], name: str, default: float, low: float, high: float) -> float:
    text = params.get(name)
    if text is None:
        return default
    try:
        value = float(text)
    except ValueError:
        raise ProcessorError(f"Parameter {name} must be a number, got '{text}'.") from None
    if not low <= value <= high:
        raise ProcessorError(f"Parameter {name} must be between {low} and {high}, got {text}.")
    return value


def _now_ms() -> int:
    return int(time.time() * 1000)


def _error(error_type: str, record: SourceRecord | Output, code: str, message: str, attempts: int = 1,
           extra: dict[str, Any] | None = None) -> Failure:
    document: dict[str, Any] = {
        "attemptsMade": attempts,
        "arrivalTimestamp": record.arrival_ms,
        "errorCode": code,
        "errorMessage": message,
        "attemptEndingTimestamp": _now_ms(),
        "rawData": base64.b64encode(record.data).decode(),
    }
    kinesis = getattr(record, "kinesis", None)
    if kinesis:
        document["sequenceNumber"] = kinesis.get("sequenceNumber")
        document["subSequenceNumber"] = kinesis.get("subsequenceNumber", 0)
    document.update(extra or {})
    return Failure(error_type, record.arrival_ms, document)


class Pipeline:
    """Runs the checked steps over one batch of records."""

    def __init__(self, steps: Steps, functions: FunctionDirectory, stream_arn: str, region: str,
                 source_arn: str | None = None) -> None:
        self.steps = steps
        self.functions = functions
        self.stream_arn = stream_arn
        self.region = region
        self.source_arn = source_arn

    def run(self, records: list[SourceRecord]) -> Processed:
        failures: list[Failure] = []
        if self.source_arn is not None:
            records = self._expand(records, failures, "KPL", kpl_only=True)
        steps = self.steps
        if steps.enabled and steps.decompress:
            records = self._decompress(records, failures)
        if steps.enabled and steps.cloudwatch_extraction:
            records = self._cloudwatch(records, failures)
        if steps.enabled and steps.deaggregation:
            records = self._expand(records, failures, steps.deaggregation)
        outputs = [Output(r.data, r.arrival_ms) for r in records]
        if steps.enabled and steps.lambda_arn:
            outputs = self._transform(records, failures)
        if steps.enabled and steps.query is not None:
            outputs = self._extract(outputs, failures, steps.query)
        if steps.enabled and steps.delimiter is not None:
            for out in outputs:
                out.data += steps.delimiter
        return Processed(outputs, failures)

    # -- record-splitting steps ------------------------------------------------------------------------

    def _expand(self, records: list[SourceRecord], failures: list[Failure], kind: str,
                kpl_only: bool = False) -> list[SourceRecord]:
        out: list[SourceRecord] = []
        for record in records:
            try:
                if kind == "KPL":
                    if kpl_only and not kpl.is_aggregated(record.data):
                        out.append(record)
                        continue
                    parts = kpl.deaggregate(record.data)
                elif kind == "JSON":
                    parts = _split_json(record.data)
                else:
                    parts = [p for p in record.data.split(self.steps.deaggregation_delimiter) if p]
            except (ValueError, UnicodeDecodeError) as exc:
                failures.append(_error(PROCESSING_FAILED, record, "RecordDeAggregation.Failed",
                                       f"The record could not be de-aggregated as {kind}: {exc}"))
                continue
            for n, part in enumerate(parts):
                out.append(SourceRecord(part, record.arrival_ms, f"{record.record_id}.{n}", record.kinesis))
        return out

    def _decompress(self, records: list[SourceRecord], failures: list[Failure]) -> list[SourceRecord]:
        out: list[SourceRecord] = []
        for record in records:
            try:
                out.append(SourceRecord(gzip.decompress(record.data), record.arrival_ms, record.record_id,
                                        record.kinesis))
            except (OSError, EOFError) as exc:
                failures.append(_error(PROCESSING_FAILED, record, "Decompression.Failed",
                                       f"The record could not be decompressed as GZIP: {exc}"))
        return out

    def _cloudwatch(self, records: list[SourceRecord], failures: list[Failure]) -> list[SourceRecord]:
        """CloudWatch Logs subscription records: control messages dropped, each log event's message kept."""
        out: list[SourceRecord] = []
        for record in records:
            try:
                document = json.loads(record.data)
                kind = document.get("messageType")
                events = document.get("logEvents") or []
            except (ValueError, AttributeError) as exc:
                failures.append(_error(PROCESSING_FAILED, record, "CloudWatchLogProcessing.Failed",
                                       f"The record is not a CloudWatch Logs message: {exc}"))
                continue
            if kind == "CONTROL_MESSAGE":
                continue
            for n, event in enumerate(events):
                message = event.get("message", "") if isinstance(event, dict) else ""
                out.append(SourceRecord(str(message).encode(), record.arrival_ms, f"{record.record_id}.{n}",
                                        record.kinesis))
        return out

    # -- Lambda ----------------------------------------------------------------------------------------

    def _transform(self, records: list[SourceRecord], failures: list[Failure]) -> list[Output]:
        outputs: list[Output] = []
        chunk: list[SourceRecord] = []
        size = 0
        limit = self.steps.lambda_buffer_bytes
        for record in records:
            if chunk and size + len(record.data) > limit:
                outputs.extend(self._invoke(chunk, failures))
                chunk, size = [], 0
            chunk.append(record)
            size += len(record.data)
        if chunk:
            outputs.extend(self._invoke(chunk, failures))
        return outputs

    def _invoke(self, chunk: list[SourceRecord], failures: list[Failure]) -> list[Output]:
        arn = self.steps.lambda_arn
        assert arn is not None
        ids = [f"{n:08d}{r.record_id}" for n, r in enumerate(chunk)]
        event: dict[str, Any] = {"invocationId": str(uuid.uuid4()), "deliveryStreamArn": self.stream_arn,
                                 "region": self.region, "records": []}
        if self.source_arn is not None:
            event["sourceKinesisStreamArn"] = self.source_arn
        for record_id, record in zip(ids, chunk, strict=True):
            entry: dict[str, Any] = {"recordId": record_id, "approximateArrivalTimestamp": record.arrival_ms,
                                     "data": base64.b64encode(record.data).decode()}
            if record.kinesis is not None:
                entry["kinesisRecordMetadata"] = record.kinesis
            event["records"].append(entry)
        attempts = 0
        result: Any = None
        code: str | None = None
        while attempts <= self.steps.lambda_retries:
            attempts += 1
            try:
                result = self.functions.invoke(arn, event)
                code = None
                break
            except FunctionMissing:
                code = "Lambda.ResourceNotFound"
            except FunctionFailed:
                code = "Lambda.FunctionError"
        extra = {"lambdaArn": arn}
        if code is None and not (isinstance(result, dict) and isinstance(result.get("records"), list)):
            code = "Lambda.JsonProcessingException"
        if code is not None:
            failures.extend(_error(PROCESSING_FAILED, r, code, _LAMBDA_MESSAGES[code], attempts, extra) for r in chunk)
            return []
        by_id = dict(zip(ids, chunk, strict=True))
        answered: dict[str, dict[str, Any]] = {}
        for item in result["records"]:
            answer_id = item.get("recordId") if isinstance(item, dict) else None
            if not isinstance(answer_id, str) or answer_id not in by_id:
                continue
            if answer_id in answered:
                code = "Lambda.DuplicatedRecordId"
                failures.extend(_error(PROCESSING_FAILED, r, code, _LAMBDA_MESSAGES[code], attempts, extra)
                                for r in chunk)
                return []
            answered[answer_id] = item
        outputs: list[Output] = []
        for record_id, record in by_id.items():
            item = answered.get(record_id)
            if item is None:
                code = "Lambda.MissingRecordId"
            elif item.get("result") == "Dropped":
                continue
            elif item.get("result") == "ProcessingFailed":
                code = "Lambda.ProcessingFailedStatus"
            elif item.get("result") == "Ok":
                output = _lambda_output(item, record)
                if output is not None:
                    outputs.append(output)
                    continue
                code = "Lambda.JsonProcessingException"
            else:
                code = "Lambda.JsonProcessingException"
            failures.append(_error(PROCESSING_FAILED, record, code, _LAMBDA_MESSAGES[code], attempts, extra))
        return outputs

    # -- partition keys --------------------------------------------------------------------------------

    def _extract(self, outputs: list[Output], failures: list[Failure], query: MetadataQuery) -> list[Output]:
        kept: list[Output] = []
        for output in outputs:
            try:
                document = json.loads(output.data)
            except (ValueError, UnicodeDecodeError):
                failures.append(_error(PARTITIONING_FAILED, output, "DynamicPartitioning.MetadataExtractionFailed",
                                       "Non JSON record provided"))
                continue
            try:
                output.query_keys = query.extract(document)
            except JqError as exc:
                failures.append(_error(PARTITIONING_FAILED, output, "DynamicPartitioning.MetadataExtractionFailed",
                                       str(exc)))
                continue
            kept.append(output)
        return kept


def _lambda_output(item: dict[str, Any], record: SourceRecord) -> Output | None:
    data = item.get("data")
    if not isinstance(data, str):
        return None
    try:
        payload = base64.b64decode(data, validate=True)
    except (binascii.Error, ValueError):
        return None
    keys: dict[str, str] = {}
    metadata = item.get("metadata")
    if isinstance(metadata, dict) and isinstance(metadata.get("partitionKeys"), dict):
        keys = {str(k): v if isinstance(v, str) else json.dumps(v) for k, v in metadata["partitionKeys"].items()
                if v is not None}
    return Output(payload, record.arrival_ms, lambda_keys=keys)


def _split_json(data: bytes) -> list[bytes]:
    """Concatenated JSON objects, as RecordDeAggregation's JSON sub-record type reads them."""
    text = data.decode("utf-8")
    decoder = json.JSONDecoder()
    parts: list[bytes] = []
    pos = 0
    while True:
        while pos < len(text) and text[pos] in " \t\r\n":
            pos += 1
        if pos >= len(text):
            return parts
        _, end = decoder.raw_decode(text, pos)
        parts.append(text[pos:end].encode("utf-8"))
        pos = end

