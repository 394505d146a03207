"""Amazon Comprehend on offline models."""
