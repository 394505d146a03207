"""Everything about the AWS wire format, nothing about any one service."""
