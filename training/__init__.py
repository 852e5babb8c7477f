"""Fine-tuning toolrank's bi-encoder on request -> tool pairs (a checkout tool, never shipped in the wheel).

``training.data`` builds texts, hard negatives and batches with no torch; ``training.train``
runs the contrastive training and exports the result through ``scripts/export_default_model.py``.
"""
