"""The pipe protocol between vlaser and the SimplerEnv worker: arrays and JSON round-trip, nothing else loads."""

from __future__ import annotations

import io
import json
import struct

import numpy as np
import pytest

from vlaser.sim.simpler_worker import read_message, write_message


def test_round_trip_keeps_arrays_exact_and_nested_values():
    rgb = np.arange(2 * 3 * 3, dtype=np.uint8).reshape(2, 3, 3)
    msg = ["ok", {"rgb": rgb, "tcp_pose": np.array([0.1, -2.0, 3.5, 1, 0, 0, 0], np.float32),
                  "action": np.array([1e-9, 2.0]), "success": np.bool_(True), "seed": np.int64(7),
                  "instruction": "pick coke can", "nested": [{"x": np.zeros((0, 2), np.float32)}]}]
    buf = io.BytesIO()
    write_message(buf, msg)
    write_message(buf, ["close", {}])
    buf.seek(0)
    status, value = read_message(buf)
    assert status == "ok" and value["instruction"] == "pick coke can" and value["seed"] == 7
    assert value["success"] is True
    assert value["rgb"].dtype == np.uint8 and np.array_equal(value["rgb"], rgb)
    assert value["tcp_pose"].dtype == np.float32 and value["tcp_pose"][1] == -2.0
    assert value["action"][0] == 1e-9 and value["nested"][0]["x"].shape == (0, 2)
    assert read_message(buf) == ["close", {}]
    assert read_message(buf) is None  # end of stream


def test_object_arrays_are_refused():
    header = json.dumps({"body": {"__array__": 0}, "arrays": [["|O", [1]]]}).encode()
    buf = io.BytesIO(struct.pack("<Q", len(header)) + header + b"\0" * 8)
    with pytest.raises(ValueError, match="not allowed"):
        read_message(buf)
