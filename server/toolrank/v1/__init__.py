"""Generated protobuf and gRPC code for toolrank.v1 (scripts/gen_proto.py)."""
