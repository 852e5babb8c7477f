from toolrank.v1 import reranker_pb2 as _reranker_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class PutCatalogRequest(_message.Message):
    __slots__ = ("catalog", "candidates", "replace", "delete_ids", "model", "learn")
    CATALOG_FIELD_NUMBER: _ClassVar[int]
    CANDIDATES_FIELD_NUMBER: _ClassVar[int]
    REPLACE_FIELD_NUMBER: _ClassVar[int]
    DELETE_IDS_FIELD_NUMBER: _ClassVar[int]
    MODEL_FIELD_NUMBER: _ClassVar[int]
    LEARN_FIELD_NUMBER: _ClassVar[int]
    catalog: str
    candidates: _containers.RepeatedCompositeFieldContainer[_reranker_pb2.Candidate]
    replace: bool
    delete_ids: _containers.RepeatedScalarFieldContainer[str]
    model: str
    learn: bool
    def __init__(self, catalog: _Optional[str] = ..., candidates: _Optional[_Iterable[_Union[_reranker_pb2.Candidate, _Mapping]]] = ..., replace: _Optional[bool] = ..., delete_ids: _Optional[_Iterable[str]] = ..., model: _Optional[str] = ..., learn: _Optional[bool] = ...) -> None: ...

class PutCatalogResponse(_message.Message):
    __slots__ = ("catalog", "version", "size", "added", "updated", "deleted", "usage")
    CATALOG_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    SIZE_FIELD_NUMBER: _ClassVar[int]
    ADDED_FIELD_NUMBER: _ClassVar[int]
    UPDATED_FIELD_NUMBER: _ClassVar[int]
    DELETED_FIELD_NUMBER: _ClassVar[int]
    USAGE_FIELD_NUMBER: _ClassVar[int]
    catalog: str
    version: int
    size: int
    added: int
    updated: int
    deleted: int
    usage: _reranker_pb2.Usage
    def __init__(self, catalog: _Optional[str] = ..., version: _Optional[int] = ..., size: _Optional[int] = ..., added: _Optional[int] = ..., updated: _Optional[int] = ..., deleted: _Optional[int] = ..., usage: _Optional[_Union[_reranker_pb2.Usage, _Mapping]] = ...) -> None: ...

class SelectRequest(_message.Message):
    __slots__ = ("catalog", "query", "top_k", "min_score", "pinned_ids", "filter", "instruction", "return_candidates", "return_text", "model", "context", "rerank_depth", "stage_one_only", "rerank_model", "no_learning", "adaptive", "max_tokens", "per_step")
    class FilterEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    CATALOG_FIELD_NUMBER: _ClassVar[int]
    QUERY_FIELD_NUMBER: _ClassVar[int]
    TOP_K_FIELD_NUMBER: _ClassVar[int]
    MIN_SCORE_FIELD_NUMBER: _ClassVar[int]
    PINNED_IDS_FIELD_NUMBER: _ClassVar[int]
    FILTER_FIELD_NUMBER: _ClassVar[int]
    INSTRUCTION_FIELD_NUMBER: _ClassVar[int]
    RETURN_CANDIDATES_FIELD_NUMBER: _ClassVar[int]
    RETURN_TEXT_FIELD_NUMBER: _ClassVar[int]
    MODEL_FIELD_NUMBER: _ClassVar[int]
    CONTEXT_FIELD_NUMBER: _ClassVar[int]
    RERANK_DEPTH_FIELD_NUMBER: _ClassVar[int]
    STAGE_ONE_ONLY_FIELD_NUMBER: _ClassVar[int]
    RERANK_MODEL_FIELD_NUMBER: _ClassVar[int]
    NO_LEARNING_FIELD_NUMBER: _ClassVar[int]
    ADAPTIVE_FIELD_NUMBER: _ClassVar[int]
    MAX_TOKENS_FIELD_NUMBER: _ClassVar[int]
    PER_STEP_FIELD_NUMBER: _ClassVar[int]
    catalog: str
    query: str
    top_k: int
    min_score: float
    pinned_ids: _containers.RepeatedScalarFieldContainer[str]
    filter: _containers.ScalarMap[str, str]
    instruction: str
    return_candidates: bool
    return_text: bool
    model: str
    context: _containers.RepeatedScalarFieldContainer[str]
    rerank_depth: int
    stage_one_only: bool
    rerank_model: str
    no_learning: bool
    adaptive: bool
    max_tokens: int
    per_step: bool
    def __init__(self, catalog: _Optional[str] = ..., query: _Optional[str] = ..., top_k: _Optional[int] = ..., min_score: _Optional[float] = ..., pinned_ids: _Optional[_Iterable[str]] = ..., filter: _Optional[_Mapping[str, str]] = ..., instruction: _Optional[str] = ..., return_candidates: _Optional[bool] = ..., return_text: _Optional[bool] = ..., model: _Optional[str] = ..., context: _Optional[_Iterable[str]] = ..., rerank_depth: _Optional[int] = ..., stage_one_only: _Optional[bool] = ..., rerank_model: _Optional[str] = ..., no_learning: _Optional[bool] = ..., adaptive: _Optional[bool] = ..., max_tokens: _Optional[int] = ..., per_step: _Optional[bool] = ...) -> None: ...

class SelectResult(_message.Message):
    __slots__ = ("id", "score", "pinned", "text", "candidate", "step")
    ID_FIELD_NUMBER: _ClassVar[int]
    SCORE_FIELD_NUMBER: _ClassVar[int]
    PINNED_FIELD_NUMBER: _ClassVar[int]
    TEXT_FIELD_NUMBER: _ClassVar[int]
    CANDIDATE_FIELD_NUMBER: _ClassVar[int]
    STEP_FIELD_NUMBER: _ClassVar[int]
    id: str
    score: float
    pinned: bool
    text: str
    candidate: _reranker_pb2.Candidate
    step: int
    def __init__(self, id: _Optional[str] = ..., score: _Optional[float] = ..., pinned: _Optional[bool] = ..., text: _Optional[str] = ..., candidate: _Optional[_Union[_reranker_pb2.Candidate, _Mapping]] = ..., step: _Optional[int] = ...) -> None: ...

class SelectResponse(_message.Message):
    __slots__ = ("results", "version", "usage", "timing", "model", "rerank_model", "no_match", "steps")
    RESULTS_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    USAGE_FIELD_NUMBER: _ClassVar[int]
    TIMING_FIELD_NUMBER: _ClassVar[int]
    MODEL_FIELD_NUMBER: _ClassVar[int]
    RERANK_MODEL_FIELD_NUMBER: _ClassVar[int]
    NO_MATCH_FIELD_NUMBER: _ClassVar[int]
    STEPS_FIELD_NUMBER: _ClassVar[int]
    results: _containers.RepeatedCompositeFieldContainer[SelectResult]
    version: int
    usage: _reranker_pb2.Usage
    timing: _reranker_pb2.Timing
    model: str
    rerank_model: str
    no_match: bool
    steps: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, results: _Optional[_Iterable[_Union[SelectResult, _Mapping]]] = ..., version: _Optional[int] = ..., usage: _Optional[_Union[_reranker_pb2.Usage, _Mapping]] = ..., timing: _Optional[_Union[_reranker_pb2.Timing, _Mapping]] = ..., model: _Optional[str] = ..., rerank_model: _Optional[str] = ..., no_match: _Optional[bool] = ..., steps: _Optional[_Iterable[str]] = ...) -> None: ...

class GetCatalogRequest(_message.Message):
    __slots__ = ("catalog",)
    CATALOG_FIELD_NUMBER: _ClassVar[int]
    catalog: str
    def __init__(self, catalog: _Optional[str] = ...) -> None: ...

class CatalogInfo(_message.Message):
    __slots__ = ("catalog", "version", "size", "model", "examples", "feedback", "learn")
    CATALOG_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    SIZE_FIELD_NUMBER: _ClassVar[int]
    MODEL_FIELD_NUMBER: _ClassVar[int]
    EXAMPLES_FIELD_NUMBER: _ClassVar[int]
    FEEDBACK_FIELD_NUMBER: _ClassVar[int]
    LEARN_FIELD_NUMBER: _ClassVar[int]
    catalog: str
    version: int
    size: int
    model: str
    examples: int
    feedback: int
    learn: bool
    def __init__(self, catalog: _Optional[str] = ..., version: _Optional[int] = ..., size: _Optional[int] = ..., model: _Optional[str] = ..., examples: _Optional[int] = ..., feedback: _Optional[int] = ..., learn: _Optional[bool] = ...) -> None: ...

class FeedbackRequest(_message.Message):
    __slots__ = ("catalog", "query", "chosen_ids", "rejected_ids", "source")
    CATALOG_FIELD_NUMBER: _ClassVar[int]
    QUERY_FIELD_NUMBER: _ClassVar[int]
    CHOSEN_IDS_FIELD_NUMBER: _ClassVar[int]
    REJECTED_IDS_FIELD_NUMBER: _ClassVar[int]
    SOURCE_FIELD_NUMBER: _ClassVar[int]
    catalog: str
    query: str
    chosen_ids: _containers.RepeatedScalarFieldContainer[str]
    rejected_ids: _containers.RepeatedScalarFieldContainer[str]
    source: str
    def __init__(self, catalog: _Optional[str] = ..., query: _Optional[str] = ..., chosen_ids: _Optional[_Iterable[str]] = ..., rejected_ids: _Optional[_Iterable[str]] = ..., source: _Optional[str] = ...) -> None: ...

class ListFeedbackResponse(_message.Message):
    __slots__ = ("records",)
    RECORDS_FIELD_NUMBER: _ClassVar[int]
    records: _containers.RepeatedCompositeFieldContainer[FeedbackRequest]
    def __init__(self, records: _Optional[_Iterable[_Union[FeedbackRequest, _Mapping]]] = ...) -> None: ...

class FeedbackResponse(_message.Message):
    __slots__ = ("catalog", "feedback", "dropped")
    CATALOG_FIELD_NUMBER: _ClassVar[int]
    FEEDBACK_FIELD_NUMBER: _ClassVar[int]
    DROPPED_FIELD_NUMBER: _ClassVar[int]
    catalog: str
    feedback: int
    dropped: int
    def __init__(self, catalog: _Optional[str] = ..., feedback: _Optional[int] = ..., dropped: _Optional[int] = ...) -> None: ...

class ListCatalogsRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class ListCatalogsResponse(_message.Message):
    __slots__ = ("catalogs",)
    CATALOGS_FIELD_NUMBER: _ClassVar[int]
    catalogs: _containers.RepeatedCompositeFieldContainer[CatalogInfo]
    def __init__(self, catalogs: _Optional[_Iterable[_Union[CatalogInfo, _Mapping]]] = ...) -> None: ...

class DeleteCatalogRequest(_message.Message):
    __slots__ = ("catalog",)
    CATALOG_FIELD_NUMBER: _ClassVar[int]
    catalog: str
    def __init__(self, catalog: _Optional[str] = ...) -> None: ...
