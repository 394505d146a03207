"""Amazon Translate: rule-based machine translation with Apertium language pairs."""
