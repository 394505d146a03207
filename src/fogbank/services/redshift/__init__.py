"""Amazon Redshift: provisioned clusters (query protocol)."""
