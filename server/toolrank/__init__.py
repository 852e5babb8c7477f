"""toolrank: rank tool schemas, code, SQL and text for agents with an ONNX model."""

__version__ = "0.1.0"
