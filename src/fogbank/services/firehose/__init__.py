"""Amazon Data Firehose: durable buffered delivery into S3, fed directly or from a Kinesis stream."""
