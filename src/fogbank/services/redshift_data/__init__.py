"""The Amazon Redshift Data API and the DuckDB warehouses behind it."""
