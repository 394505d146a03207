"""S3: buckets and objects on local disk, metadata in SQLite."""
