"""Sweep orchestration glue: DVC adapter, sweep plans and state. No science, no Prefect imports here
(the Prefect flows in ``flows/`` call these)."""
