"""Amazon Transcribe: batch speech recognition with Whisper on CTranslate2."""
