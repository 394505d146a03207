"""AWS Glue: the Data Catalog and crawlers."""
