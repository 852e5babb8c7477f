"""Model directories: loading ONNX graphs and tokenizers, and the catalog of known models."""
