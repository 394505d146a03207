"""Kinesis Data Streams: durable per-shard logs behind the Kinesis API."""
