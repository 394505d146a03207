"""Amazon Rekognition on offline vision, face and OCR models."""
