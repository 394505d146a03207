"""Amazon Textract on offline OCR and page-geometry analysis."""
