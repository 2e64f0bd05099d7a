"""Data engine: InternVL chat-JSONL records, in-domain QA from simulator ground truth, out-of-domain
sources, variant mixtures (docs/data.md)."""
