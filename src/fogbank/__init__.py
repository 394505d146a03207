"""fogbank: the AWS AI/ML and data-analytics stack as one local, durable server."""

__version__ = "0.1.0"
