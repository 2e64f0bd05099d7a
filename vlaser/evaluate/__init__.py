"""Evaluation: closed-loop rollouts, reasoning benchmarks, statistics and correlation."""
