from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class Code(_message.Message):
    __slots__ = ("language", "source", "path")
    LANGUAGE_FIELD_NUMBER: _ClassVar[int]
    SOURCE_FIELD_NUMBER: _ClassVar[int]
    PATH_FIELD_NUMBER: _ClassVar[int]
    language: str
    source: str
    path: str
    def __init__(self, language: _Optional[str] = ..., source: _Optional[str] = ..., path: _Optional[str] = ...) -> None: ...

class Sql(_message.Message):
    __slots__ = ("dialect", "text")
    DIALECT_FIELD_NUMBER: _ClassVar[int]
    TEXT_FIELD_NUMBER: _ClassVar[int]
    dialect: str
    text: str
    def __init__(self, dialect: _Optional[str] = ..., text: _Optional[str] = ...) -> None: ...

class Tool(_message.Message):
    __slots__ = ("json",)
    JSON_FIELD_NUMBER: _ClassVar[int]
    json: str
    def __init__(self, json: _Optional[str] = ...) -> None: ...

class Candidate(_message.Message):
    __slots__ = ("id", "text", "code", "sql", "tool", "metadata", "examples")
    class MetadataEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    ID_FIELD_NUMBER: _ClassVar[int]
    TEXT_FIELD_NUMBER: _ClassVar[int]
    CODE_FIELD_NUMBER: _ClassVar[int]
    SQL_FIELD_NUMBER: _ClassVar[int]
    TOOL_FIELD_NUMBER: _ClassVar[int]
    METADATA_FIELD_NUMBER: _ClassVar[int]
    EXAMPLES_FIELD_NUMBER: _ClassVar[int]
    id: str
    text: str
    code: Code
    sql: Sql
    tool: Tool
    metadata: _containers.ScalarMap[str, str]
    examples: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, id: _Optional[str] = ..., text: _Optional[str] = ..., code: _Optional[_Union[Code, _Mapping]] = ..., sql: _Optional[_Union[Sql, _Mapping]] = ..., tool: _Optional[_Union[Tool, _Mapping]] = ..., metadata: _Optional[_Mapping[str, str]] = ..., examples: _Optional[_Iterable[str]] = ...) -> None: ...

class RerankRequest(_message.Message):
    __slots__ = ("query", "candidates", "top_n", "return_text", "raw_scores", "model", "lexical_weight", "detect_kinds")
    QUERY_FIELD_NUMBER: _ClassVar[int]
    CANDIDATES_FIELD_NUMBER: _ClassVar[int]
    TOP_N_FIELD_NUMBER: _ClassVar[int]
    RETURN_TEXT_FIELD_NUMBER: _ClassVar[int]
    RAW_SCORES_FIELD_NUMBER: _ClassVar[int]
    MODEL_FIELD_NUMBER: _ClassVar[int]
    LEXICAL_WEIGHT_FIELD_NUMBER: _ClassVar[int]
    DETECT_KINDS_FIELD_NUMBER: _ClassVar[int]
    query: str
    candidates: _containers.RepeatedCompositeFieldContainer[Candidate]
    top_n: int
    return_text: bool
    raw_scores: bool
    model: str
    lexical_weight: float
    detect_kinds: bool
    def __init__(self, query: _Optional[str] = ..., candidates: _Optional[_Iterable[_Union[Candidate, _Mapping]]] = ..., top_n: _Optional[int] = ..., return_text: _Optional[bool] = ..., raw_scores: _Optional[bool] = ..., model: _Optional[str] = ..., lexical_weight: _Optional[float] = ..., detect_kinds: _Optional[bool] = ...) -> None: ...

class RerankResult(_message.Message):
    __slots__ = ("index", "id", "score", "text")
    INDEX_FIELD_NUMBER: _ClassVar[int]
    ID_FIELD_NUMBER: _ClassVar[int]
    SCORE_FIELD_NUMBER: _ClassVar[int]
    TEXT_FIELD_NUMBER: _ClassVar[int]
    index: int
    id: str
    score: float
    text: str
    def __init__(self, index: _Optional[int] = ..., id: _Optional[str] = ..., score: _Optional[float] = ..., text: _Optional[str] = ...) -> None: ...

class Usage(_message.Message):
    __slots__ = ("query_tokens", "candidate_tokens", "truncated", "windows", "fallbacks", "cache_hits", "query_truncated", "steps")
    QUERY_TOKENS_FIELD_NUMBER: _ClassVar[int]
    CANDIDATE_TOKENS_FIELD_NUMBER: _ClassVar[int]
    TRUNCATED_FIELD_NUMBER: _ClassVar[int]
    WINDOWS_FIELD_NUMBER: _ClassVar[int]
    FALLBACKS_FIELD_NUMBER: _ClassVar[int]
    CACHE_HITS_FIELD_NUMBER: _ClassVar[int]
    QUERY_TRUNCATED_FIELD_NUMBER: _ClassVar[int]
    STEPS_FIELD_NUMBER: _ClassVar[int]
    query_tokens: int
    candidate_tokens: int
    truncated: int
    windows: int
    fallbacks: int
    cache_hits: int
    query_truncated: bool
    steps: int
    def __init__(self, query_tokens: _Optional[int] = ..., candidate_tokens: _Optional[int] = ..., truncated: _Optional[int] = ..., windows: _Optional[int] = ..., fallbacks: _Optional[int] = ..., cache_hits: _Optional[int] = ..., query_truncated: _Optional[bool] = ..., steps: _Optional[int] = ...) -> None: ...

class Timing(_message.Message):
    __slots__ = ("normalize_ns", "tokenize_ns", "queue_ns", "inference_ns", "total_ns")
    NORMALIZE_NS_FIELD_NUMBER: _ClassVar[int]
    TOKENIZE_NS_FIELD_NUMBER: _ClassVar[int]
    QUEUE_NS_FIELD_NUMBER: _ClassVar[int]
    INFERENCE_NS_FIELD_NUMBER: _ClassVar[int]
    TOTAL_NS_FIELD_NUMBER: _ClassVar[int]
    normalize_ns: int
    tokenize_ns: int
    queue_ns: int
    inference_ns: int
    total_ns: int
    def __init__(self, normalize_ns: _Optional[int] = ..., tokenize_ns: _Optional[int] = ..., queue_ns: _Optional[int] = ..., inference_ns: _Optional[int] = ..., total_ns: _Optional[int] = ...) -> None: ...

class RerankResponse(_message.Message):
    __slots__ = ("results", "usage", "timing", "model")
    RESULTS_FIELD_NUMBER: _ClassVar[int]
    USAGE_FIELD_NUMBER: _ClassVar[int]
    TIMING_FIELD_NUMBER: _ClassVar[int]
    MODEL_FIELD_NUMBER: _ClassVar[int]
    results: _containers.RepeatedCompositeFieldContainer[RerankResult]
    usage: Usage
    timing: Timing
    model: str
    def __init__(self, results: _Optional[_Iterable[_Union[RerankResult, _Mapping]]] = ..., usage: _Optional[_Union[Usage, _Mapping]] = ..., timing: _Optional[_Union[Timing, _Mapping]] = ..., model: _Optional[str] = ...) -> None: ...

class NormalizeRequest(_message.Message):
    __slots__ = ("candidates", "model", "detect_kinds")
    CANDIDATES_FIELD_NUMBER: _ClassVar[int]
    MODEL_FIELD_NUMBER: _ClassVar[int]
    DETECT_KINDS_FIELD_NUMBER: _ClassVar[int]
    candidates: _containers.RepeatedCompositeFieldContainer[Candidate]
    model: str
    detect_kinds: bool
    def __init__(self, candidates: _Optional[_Iterable[_Union[Candidate, _Mapping]]] = ..., model: _Optional[str] = ..., detect_kinds: _Optional[bool] = ...) -> None: ...

class NormalizedCandidate(_message.Message):
    __slots__ = ("index", "id", "kind", "text", "fallback", "detail", "tokens", "raw_tokens")
    INDEX_FIELD_NUMBER: _ClassVar[int]
    ID_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    TEXT_FIELD_NUMBER: _ClassVar[int]
    FALLBACK_FIELD_NUMBER: _ClassVar[int]
    DETAIL_FIELD_NUMBER: _ClassVar[int]
    TOKENS_FIELD_NUMBER: _ClassVar[int]
    RAW_TOKENS_FIELD_NUMBER: _ClassVar[int]
    index: int
    id: str
    kind: str
    text: str
    fallback: bool
    detail: str
    tokens: int
    raw_tokens: int
    def __init__(self, index: _Optional[int] = ..., id: _Optional[str] = ..., kind: _Optional[str] = ..., text: _Optional[str] = ..., fallback: _Optional[bool] = ..., detail: _Optional[str] = ..., tokens: _Optional[int] = ..., raw_tokens: _Optional[int] = ...) -> None: ...

class NormalizeResponse(_message.Message):
    __slots__ = ("candidates",)
    CANDIDATES_FIELD_NUMBER: _ClassVar[int]
    candidates: _containers.RepeatedCompositeFieldContainer[NormalizedCandidate]
    def __init__(self, candidates: _Optional[_Iterable[_Union[NormalizedCandidate, _Mapping]]] = ...) -> None: ...

class InfoRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class ModelInfo(_message.Message):
    __slots__ = ("name", "kind", "max_length", "max_query_length", "family", "path", "is_default")
    NAME_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    MAX_LENGTH_FIELD_NUMBER: _ClassVar[int]
    MAX_QUERY_LENGTH_FIELD_NUMBER: _ClassVar[int]
    FAMILY_FIELD_NUMBER: _ClassVar[int]
    PATH_FIELD_NUMBER: _ClassVar[int]
    IS_DEFAULT_FIELD_NUMBER: _ClassVar[int]
    name: str
    kind: str
    max_length: int
    max_query_length: int
    family: str
    path: str
    is_default: bool
    def __init__(self, name: _Optional[str] = ..., kind: _Optional[str] = ..., max_length: _Optional[int] = ..., max_query_length: _Optional[int] = ..., family: _Optional[str] = ..., path: _Optional[str] = ..., is_default: _Optional[bool] = ...) -> None: ...

class InfoResponse(_message.Message):
    __slots__ = ("version", "models", "default_model")
    VERSION_FIELD_NUMBER: _ClassVar[int]
    MODELS_FIELD_NUMBER: _ClassVar[int]
    DEFAULT_MODEL_FIELD_NUMBER: _ClassVar[int]
    version: str
    models: _containers.RepeatedCompositeFieldContainer[ModelInfo]
    default_model: str
    def __init__(self, version: _Optional[str] = ..., models: _Optional[_Iterable[_Union[ModelInfo, _Mapping]]] = ..., default_model: _Optional[str] = ...) -> None: ...
