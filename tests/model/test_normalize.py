"""NormStats: 1st/99th percentiles -> [-1, 1], binarised gripper, JSON round trip, missing -> UserError."""

from __future__ import annotations

import numpy as np
import pytest

from vlaser.errors import UserError
from vlaser.model.normalize import NormStats, load_stats, save_stats


def _data():
    rng = np.random.default_rng(0)
    x = np.stack([rng.normal(5, 2, 5000), rng.uniform(-0.1, 0.3, 5000), np.full(5000, 0.04),
                  rng.choice([-1.0, 1.0], 5000)], axis=1)
    return x.astype(np.float32)


def test_percentiles_map_to_unit_box_and_back():
    x = _data()
    st = NormStats.from_data(x, binary=[3])
    y = st.normalize(x)
    assert y.min() >= -1 and y.max() <= 1
    assert abs(np.percentile(y[:, 0], 1) + 1) < 0.01 and abs(np.percentile(y[:, 0], 99) - 1) < 0.01
    assert np.all(y[:, 2] == 0)  # a constant dimension maps to 0 ...
    assert np.allclose(st.unnormalize(y)[:, 2], 0.04)  # ... and back to its value
    assert set(np.unique(y[:, 3])) == {-1.0, 1.0}
    for d in (0, 1):  # inside the percentile box the round trip is exact; outside it is clipped
        inside = (x[:, d] > st.low[d]) & (x[:, d] < st.high[d])
        assert np.allclose(st.unnormalize(y)[inside, d], x[inside, d], atol=1e-4)
        assert np.allclose(st.unnormalize(y)[~inside, d], np.clip(x[~inside, d], st.low[d], st.high[d]), atol=1e-4)
    assert np.array_equal(st.unnormalize(y)[:, 3], x[:, 3])


def test_save_load_round_trip(tmp_path):
    st = NormStats.from_data(_data(), binary=[3])
    st.save(tmp_path / "s.json")
    back = NormStats.load(tmp_path / "s.json")
    assert np.array_equal(back.low, st.low) and np.array_equal(back.high, st.high) and back.binary == (3,)
    save_stats(tmp_path / "both.json", {"state": st, "action": st})
    assert set(load_stats(tmp_path / "both.json")) == {"state", "action"}


def test_missing_or_partial_stats_raise(tmp_path):
    with pytest.raises(UserError, match="missing"):
        NormStats.load(tmp_path / "nope.json")
    st = NormStats.from_data(_data())
    save_stats(tmp_path / "only_state.json", {"state": st})
    with pytest.raises(UserError, match=r"only_state.json.*\['action'\]"):
        load_stats(tmp_path / "only_state.json")
    (tmp_path / "bad.json").write_text('{"low": [1, 2]}')
    with pytest.raises(UserError, match="bad.json"):
        NormStats.load(tmp_path / "bad.json")
