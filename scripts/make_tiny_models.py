"""Generate the tiny random-weight test models under tests/models/ (run from anywhere).

    python scripts/make_tiny_models.py            # everything (torch)
    python scripts/make_tiny_models.py --derived  # only the models derived with onnx (see derive())

Writes three model directories, each with model.onnx, tokenizer.json, config.json,
toolrank.json and reference.json:

    tests/models/tiny-bert-cross   BertForSequenceClassification (num_labels=1), inputs
                                   input_ids, attention_mask, token_type_ids; output logits
    tests/models/tiny-xlmr-cross   XLMRobertaForSequenceClassification (num_labels=1), pad id 1,
                                   inputs input_ids, attention_mask; output logits
    tests/models/tiny-bert-bi      BertModel, inputs as BERT; output last_hidden_state

All are hidden 32, 2 layers, 2 heads, intermediate 64, 128 positions (XLM-R: 130 position
embeddings, since its positions start at pad id + 1, as 514 does for 512 tokens), random
weights from a fixed seed. Tokenizers are built with the `tokenizers` library over a small
fixed English vocabulary plus single characters, so any ASCII text tokenizes (other
characters become the unknown token).

reference.json holds what torch and transformers compute, independently of toolrank:
cross-encoders: cases of {"query", "documents", "input_ids" (pair ids from
PreTrainedTokenizerFast(tokenizer_object=...)(query, document)), "query_ids",
"document_ids" (no special tokens), "logits" (the torch model on the padded batch)};
the bi-encoder: cases of {"texts", "input_ids", "embeddings" (mean-pooled under the mask,
L2-normalized)}. A case marked "long": true has a document longer than the 128-token
window: its ids are full (not truncated) and it has no logits or embeddings.

Needs torch and transformers (with sympy) and onnx: the ``dev`` tools. The output is
committed and never edited by hand; rerun this script instead.
"""

from __future__ import annotations

import json
import shutil
import string
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "tests" / "models"

SEED = 1234
OPSET = 17
MAX_LENGTH = 128
MAX_QUERY_LENGTH = 64
INIT_RANGE = 0.2  # wider than BERT's 0.02, so that random logits spread out

SHAPE = dict(
    hidden_size=32,
    num_hidden_layers=2,
    num_attention_heads=2,
    intermediate_size=64,
    hidden_act="gelu",
    initializer_range=INIT_RANGE,
    hidden_dropout_prob=0.0,
    attention_probs_dropout_prob=0.0,
)

WORDS = """
a about above add after again against all also an and any are as at back be because
been before being below between both but by call can city code come could count create
data date day did do does down during each email error false few file find first for
from function get give go good has have he her here him his how i if in into is it its
just know last like list look make many may me more most much must my name need new
no not now number of off on one only or other our out over own page part people
place query read return right run same say search see send set she should show so
some string such table take text than that the their them then there these they thing
think this those through time to too tool two type under up us use user value very
want was way we weather well were what when where which while who why will with work
would write year you your
capital france paris berlin germany london city country population map price stock
weather temperature forecast rain sun wind news sport music movie book flight hotel
restaurant food recipe order payment account bank money currency convert translate
language image photo video email message calendar event meeting reminder note task
python java javascript sql select insert update delete join group by order limit
where count sum avg max min def class import return self none true false int str
float bool dict json array object schema parameter parameters required description
properties integer boolean number null id key index sort filter merge split parse
load save open close print log debug test check valid invalid random seed model rank
score document documents candidate candidates question answer rerank relevant
""".split()

PUNCT = list(string.punctuation)
CHARS = list(string.ascii_lowercase) + list(string.digits) + PUNCT

REFERENCE_TEXTS = {
    "query": "What is the capital of France?",
    "docs": [
        "Paris is the capital of France.",
        "Berlin is the capital of Germany.",
        "def get_weather(city): return forecast[city]",
        '{"name": "convert_currency", "description": "Convert money", "parameters": '
        '{"type": "dict", "properties": {"amount": {"type": "number"}}}}',
        "CREATE TABLE Breeds (breed_code TEXT, breed_name TEXT)",
        "Zürich café ✓ naïve",  # characters outside the vocabulary
    ],
}

LONG_DOC = " ".join(
    f"Document part {i}: the tool returns the weather forecast for a city and the user can search a table."
    for i in range(12)
)


# --------------------------------------------------------------------------- tokenizers


def bert_tokenizer():
    from tokenizers import Tokenizer, decoders, models, normalizers, pre_tokenizers, processors

    specials = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
    vocab: dict[str, int] = {}
    for tok in specials + CHARS + ["##" + c for c in CHARS] + sorted(set(WORDS)):
        vocab.setdefault(tok, len(vocab))
    tok = Tokenizer(models.WordPiece(vocab=vocab, unk_token="[UNK]", max_input_chars_per_word=100))
    tok.normalizer = normalizers.BertNormalizer(
        clean_text=True, handle_chinese_chars=True, strip_accents=None, lowercase=True
    )
    tok.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    tok.post_processor = processors.TemplateProcessing(
        single="[CLS] $A [SEP]",
        pair="[CLS] $A [SEP] $B:1 [SEP]:1",
        special_tokens=[("[CLS]", vocab["[CLS]"]), ("[SEP]", vocab["[SEP]"])],
    )
    tok.decoder = decoders.WordPiece(prefix="##")
    tok.add_special_tokens(specials)
    return tok


def xlmr_tokenizer():
    from tokenizers import Tokenizer, decoders, models, normalizers, pre_tokenizers, processors

    specials = ["<s>", "<pad>", "</s>", "<unk>"]
    pieces: list[tuple[str, float]] = [(s, 0.0) for s in specials]
    seen = set(specials)

    def add(piece: str, score: float) -> None:
        if piece not in seen:
            seen.add(piece)
            pieces.append((piece, score))

    add("\u2581", -6.0)
    for w in sorted(set(WORDS)):
        add("\u2581" + w, -4.0)
        add("\u2581" + w.capitalize(), -4.0)
        add(w, -5.0)
    for c in CHARS + list(string.ascii_uppercase):
        add(c, -8.0)
        add("\u2581" + c, -8.5)
    tok = Tokenizer(models.Unigram(pieces, unk_id=3, byte_fallback=False))
    tok.normalizer = normalizers.NFKC()
    tok.pre_tokenizer = pre_tokenizers.Metaspace(replacement="\u2581", prepend_scheme="always")
    tok.post_processor = processors.RobertaProcessing(("</s>", 2), ("<s>", 0))
    tok.decoder = decoders.Metaspace(replacement="\u2581", prepend_scheme="always")
    tok.add_special_tokens(specials)
    return tok


def hf_tokenizer(tok, family: str):
    """The same tokenizer seen through transformers, for reference ids."""
    from transformers import PreTrainedTokenizerFast

    if family == "bert":
        names = dict(pad_token="[PAD]", unk_token="[UNK]", cls_token="[CLS]", sep_token="[SEP]", mask_token="[MASK]")
    else:
        names = dict(pad_token="<pad>", unk_token="<unk>", bos_token="<s>", eos_token="</s>", cls_token="<s>", sep_token="</s>")
    return PreTrainedTokenizerFast(tokenizer_object=tok, model_max_length=10**6, **names)


# --------------------------------------------------------------------------- models


def build_model(name: str, vocab_size: int):
    import torch
    from transformers import BertConfig, BertForSequenceClassification, BertModel
    from transformers import XLMRobertaConfig, XLMRobertaForSequenceClassification

    torch.manual_seed(SEED)
    if name == "tiny-bert-cross":
        cfg = BertConfig(vocab_size=vocab_size, max_position_embeddings=MAX_LENGTH, type_vocab_size=2,
                         pad_token_id=0, num_labels=1, **SHAPE)
        model = BertForSequenceClassification(cfg)
    elif name == "tiny-bert-bi":
        cfg = BertConfig(vocab_size=vocab_size, max_position_embeddings=MAX_LENGTH, type_vocab_size=2,
                         pad_token_id=0, **SHAPE)
        model = BertModel(cfg, add_pooling_layer=False)
    elif name == "tiny-xlmr-cross":
        cfg = XLMRobertaConfig(vocab_size=vocab_size, max_position_embeddings=MAX_LENGTH + 2, type_vocab_size=1,
                               pad_token_id=1, bos_token_id=0, eos_token_id=2, num_labels=1, **SHAPE)
        model = XLMRobertaForSequenceClassification(cfg)
    else:
        raise ValueError(name)
    cfg._attn_implementation = "eager"
    model.config._attn_implementation = "eager"
    return model.eval()


class _Graph:
    """Wraps a HF model so that torch.onnx.export sees plain tensors in and out."""

    @staticmethod
    def wrap(model, *, with_types: bool, output: str):
        import torch

        class Wrapper(torch.nn.Module):
            def __init__(self) -> None:
                super().__init__()
                self.model = model

            if with_types:

                def forward(self, input_ids, attention_mask, token_type_ids):  # noqa: ANN001
                    out = self.model(input_ids=input_ids, attention_mask=attention_mask,
                                     token_type_ids=token_type_ids, return_dict=True)
                    return getattr(out, output)
            else:

                def forward(self, input_ids, attention_mask):  # noqa: ANN001
                    out = self.model(input_ids=input_ids, attention_mask=attention_mask, return_dict=True)
                    return getattr(out, output)

        return Wrapper().eval()


def export(model, path: Path, *, with_types: bool, output: str, pad_id: int) -> None:
    import torch

    wrapper = _Graph.wrap(model, with_types=with_types, output=output)
    ids = torch.tensor([[5, 40, 41, 42, 6], [5, 43, 44, 6, pad_id]], dtype=torch.int64)
    mask = (ids != pad_id).to(torch.int64)
    inputs = [ids, mask] + ([torch.zeros_like(ids)] if with_types else [])
    names = ["input_ids", "attention_mask"] + (["token_type_ids"] if with_types else [])
    axes = {0: "batch", 1: "sequence"}
    dyn = {n: axes for n in names}
    dyn[output] = axes if output == "last_hidden_state" else {0: "batch"}
    with torch.no_grad():
        torch.onnx.export(wrapper, tuple(inputs), str(path), input_names=names, output_names=[output],
                          dynamic_axes=dyn, opset_version=OPSET, do_constant_folding=True, dynamo=False)
    import onnx

    onnx.checker.check_model(str(path))


def padded(rows: list[list[int]], pad_id: int):
    import torch

    width = max(len(r) for r in rows)
    ids = torch.full((len(rows), width), pad_id, dtype=torch.int64)
    mask = torch.zeros((len(rows), width), dtype=torch.int64)
    for i, r in enumerate(rows):
        ids[i, : len(r)] = torch.tensor(r)
        mask[i, : len(r)] = 1
    return ids, mask


def token_types(rows: list[list[int]], sep_id: int, width: int):
    """BERT segment ids: 0 through the first [SEP], 1 after it."""
    import torch

    types = torch.zeros((len(rows), width), dtype=torch.int64)
    for i, r in enumerate(rows):
        if sep_id in r:
            first = r.index(sep_id)
            types[i, first + 1 : len(r)] = 1
    return types


# --------------------------------------------------------------------------- references


def cross_cases() -> list[tuple[str, list[str], bool]]:
    q, docs = REFERENCE_TEXTS["query"], REFERENCE_TEXTS["docs"]
    return [
        (q, docs[:2], False),  # the DESIGN.md reference pair, two similar lengths
        (q, docs, False),  # a batch of different lengths: padding
        ("convert 100 dollars to euros", [docs[3]], False),  # a single pair
        ("Which tool gives the weather forecast?", [LONG_DOC], True),  # longer than the window
    ]


def cross_reference(model, hf, family: str, pad_id: int) -> list[dict]:
    import torch

    sep_id = hf.convert_tokens_to_ids("[SEP]" if family == "bert" else "</s>")
    cases = []
    for query, documents, long in cross_cases():
        rows = [hf(query, d)["input_ids"] for d in documents]
        case = {
            "query": query,
            "documents": documents,
            "input_ids": rows,
            "query_ids": hf(query, add_special_tokens=False)["input_ids"],
            "document_ids": [hf(d, add_special_tokens=False)["input_ids"] for d in documents],
        }
        if long:
            assert all(len(r) > MAX_LENGTH for r in rows), "long case must exceed the window"
            case["long"] = True
        else:
            assert all(len(r) <= MAX_LENGTH for r in rows)
            ids, mask = padded(rows, pad_id)
            kwargs = {"input_ids": ids, "attention_mask": mask}
            if family == "bert":
                kwargs["token_type_ids"] = token_types(rows, sep_id, ids.shape[1])
            with torch.no_grad():
                logits = model(**kwargs).logits
            case["logits"] = [[round(float(v), 7) for v in row] for row in logits]
        cases.append(case)
    return cases


def bi_reference(model, hf) -> list[dict]:
    import torch

    groups = [
        ([REFERENCE_TEXTS["query"]], False),
        ([REFERENCE_TEXTS["query"]] + REFERENCE_TEXTS["docs"], False),  # different lengths: padding
        ([LONG_DOC], True),
    ]
    cases = []
    for texts, long in groups:
        rows = [hf(t)["input_ids"] for t in texts]
        case = {"texts": texts, "input_ids": rows}
        if long:
            assert all(len(r) > MAX_LENGTH for r in rows)
            case["long"] = True
        else:
            ids, mask = padded(rows, 0)
            with torch.no_grad():
                hidden = model(input_ids=ids, attention_mask=mask, token_type_ids=torch.zeros_like(ids)).last_hidden_state
            m = mask.unsqueeze(-1).to(hidden.dtype)
            pooled = (hidden * m).sum(1) / m.sum(1).clamp(min=1e-9)
            emb = torch.nn.functional.normalize(pooled, p=2, dim=1)
            case["embeddings"] = [[round(float(v), 7) for v in row] for row in emb]
        cases.append(case)
    return cases


# --------------------------------------------------------------------------- main


def write_json(path: Path, obj) -> None:
    path.write_text(json.dumps(obj, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")


def make(name: str) -> None:
    family = "xlmr" if "xlmr" in name else "bert"
    cross = name.endswith("-cross")
    tok = bert_tokenizer() if family == "bert" else xlmr_tokenizer()
    pad_id = 0 if family == "bert" else 1
    model = build_model(name, tok.get_vocab_size())
    hf = hf_tokenizer(tok, family)

    out = OUT / name
    if out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True)
    tok.save(str(out / "tokenizer.json"), pretty=False)
    config = model.config.to_dict()
    config.pop("_attn_implementation", None)
    config.pop("transformers_version", None)
    config["architectures"] = [type(model).__name__]
    write_json(out / "config.json", config)
    write_json(out / "toolrank.json", {
        "name": name,
        "kind": "cross-encoder" if cross else "bi-encoder",
        "activation": "sigmoid" if cross else "none",
        "max_length": MAX_LENGTH,
        "max_query_length": MAX_QUERY_LENGTH if cross else MAX_LENGTH,
        **({} if cross else {"pooling": "mean"}),
    })
    export(model, out / "model.onnx", with_types=family == "bert",
           output="logits" if cross else "last_hidden_state", pad_id=pad_id)
    cases = cross_reference(model, hf, family, pad_id) if cross else bi_reference(model, hf)
    write_json(out / "reference.json", {"model": name, "seed": SEED, "cases": cases})
    size = sum(p.stat().st_size for p in out.iterdir())
    print(f"{name}: {size / 1024:.0f} KiB, vocab {tok.get_vocab_size()}")


# --------------------------------------------------------------------------- derived models (no torch)

CLS_INSTRUCTION = "find the tool for: "
PEAKY_SCALE, PEAKY_SHIFT = 3.0, -11.0  # logits ~ -11 +- a few, as ms-marco's for unrelated pairs


def derive() -> None:
    """Models derived from the generated ones with onnx alone (``--derived``: no torch needed).

    tiny-bert-bi-cls      tiny-bert-bi's graph with CLS pooling and a query instruction in its manifest
    tiny-bert-cross-peaky tiny-bert-cross with logits * 3 - 11: sigmoids all near 0, like ms-marco's
    """
    import onnx
    from onnx import helper, numpy_helper

    import numpy as np

    bi, cls = OUT / "tiny-bert-bi", OUT / "tiny-bert-bi-cls"
    if cls.exists():
        shutil.rmtree(cls)
    cls.mkdir()
    for f in ("model.onnx", "tokenizer.json", "config.json"):
        shutil.copyfile(bi / f, cls / f)
    manifest = json.loads((bi / "toolrank.json").read_text(encoding="utf-8"))
    write_json(cls / "toolrank.json", {**manifest, "name": cls.name, "pooling": "cls",
                                        "query_instruction": CLS_INSTRUCTION})

    cross, peaky = OUT / "tiny-bert-cross", OUT / "tiny-bert-cross-peaky"
    if peaky.exists():
        shutil.rmtree(peaky)
    peaky.mkdir()
    for f in ("tokenizer.json", "config.json"):
        shutil.copyfile(cross / f, peaky / f)
    graph_model = onnx.load(str(cross / "model.onnx"))
    graph = graph_model.graph
    out = graph.output[0]
    inner = out.name + "_unscaled"
    for node in graph.node:
        node.output[:] = [inner if o == out.name else o for o in node.output]
    graph.initializer.extend([numpy_helper.from_array(np.array(PEAKY_SCALE, np.float32), "peaky_scale"),
                              numpy_helper.from_array(np.array(PEAKY_SHIFT, np.float32), "peaky_shift")])
    graph.node.extend([helper.make_node("Mul", [inner, "peaky_scale"], [inner + "_scaled"]),
                       helper.make_node("Add", [inner + "_scaled", "peaky_shift"], [out.name])])
    onnx.checker.check_model(graph_model)
    onnx.save(graph_model, str(peaky / "model.onnx"))
    manifest = json.loads((cross / "toolrank.json").read_text(encoding="utf-8"))
    write_json(peaky / "toolrank.json", {**manifest, "name": peaky.name})
    print("derived: tiny-bert-bi-cls, tiny-bert-cross-peaky")


def main() -> int:
    if "--derived" not in sys.argv[1:]:
        import torch

        torch.set_num_threads(2)
        for name in ("tiny-bert-cross", "tiny-xlmr-cross", "tiny-bert-bi"):
            make(name)
    derive()
    return 0


if __name__ == "__main__":
    sys.exit(main())
