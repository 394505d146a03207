"""Athena: SQL over the Glue Data Catalog and S3, run on DuckDB."""
