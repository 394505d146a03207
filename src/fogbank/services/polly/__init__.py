"""Amazon Polly: speech synthesis on local voices (VITS on onnxruntime, espeak-ng)."""
