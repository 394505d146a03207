"""Amazon Redshift Serverless: namespaces and workgroups."""
