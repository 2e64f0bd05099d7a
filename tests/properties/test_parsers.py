"""Property-based tests (hypothesis) of the answer, point and box parsers: round trips, no crash on any
text, coordinates always in [0, 1000], scores always in [0, 1]."""

from __future__ import annotations

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from vlaser.data.records import (
    COORD_MAX,
    check_coordinates,
    format_boxes,
    format_point,
    format_points,
    parse_boxes,
    parse_points,
)
from vlaser.evaluate.scorers import (
    answer_points_px,
    normalize_answer,
    parse_choice,
    score_box,
    score_choice,
    score_exact,
    score_point,
)

PROFILE = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])

coord = st.integers(0, COORD_MAX)
real = st.floats(-1e6, 1e6, allow_nan=False, allow_infinity=False)
point = st.tuples(coord, coord)
box = st.tuples(coord, coord, coord, coord)
# text built from the pieces a model's answer is made of: tags, brackets, numbers, separators, words
PIECES = ["<point>", "</point>", "<box>", "</box>", "<ref>", "</ref>", "[[", "]]", "[", "]", ",", " ", "\n",
          "(", ")", ".", "-", "+", "0", "7", "42", "1000", "999999", "3.5", "cube", "A", "B.", "the answer is"]
answerish = st.lists(st.sampled_from(PIECES) | st.integers(-10**7, 10**7).map(str), max_size=40).map("".join)
any_text = st.text(max_size=200) | answerish


@PROFILE
@given(st.lists(point, min_size=1, max_size=8))
def test_points_round_trip(points):
    assert parse_points(format_points(points)) == [tuple(float(v) for v in p) for p in points]


@PROFILE
@given(st.lists(box, min_size=1, max_size=8), st.none() | st.from_regex(r"[a-z][a-z ]{0,12}", fullmatch=True))
def test_boxes_round_trip_with_ref(boxes, ref):
    assert parse_boxes(format_boxes(boxes, ref)) == [tuple(float(v) for v in b) for b in boxes]


@PROFILE
@given(real, real)
def test_formatted_coordinates_stay_in_range(x, y):
    """Whatever a generator computes (a point projected just off the image), the text is a valid record."""
    text = format_point(x, y)
    assert check_coordinates(text) is None, text
    (px, py), = parse_points(text)
    assert 0 <= px <= COORD_MAX and 0 <= py <= COORD_MAX
    if 0 <= x <= COORD_MAX and 0 <= y <= COORD_MAX:
        assert abs(px - x) <= 0.5 and abs(py - y) <= 0.5


@PROFILE
@given(any_text)
def test_point_and_box_parsers_never_crash(text):
    for parsed, arity in ((parse_points(text), 2), (parse_boxes(text), 4)):
        assert parsed is None or (parsed and all(len(item) == arity for item in parsed))
    problem = check_coordinates(text)
    assert problem is None or isinstance(problem, str)


@PROFILE
@given(any_text, st.integers(1, 64), st.integers(1, 64))
def test_answer_points_are_bounded_and_scores_in_unit_interval(text, w, h):
    """Any answer, including huge Where2Place boxes like "(0, 0, 99999999, 99999999)", scores in [0, 1]
    without materialising pixels outside the image."""
    pts = answer_points_px(text, w, h)
    assert pts is None or (pts.ndim == 2 and pts.shape[1] == 2)
    mask = np.zeros((h, w))
    mask[: h // 2] = 1.0
    s = score_point(text, mask)
    assert 0.0 <= s.value <= 1.0


def test_huge_where2place_box_is_clipped_to_the_image():
    pts = answer_points_px("(0, 0, 99999999, 99999999)", 8, 6)
    assert pts is not None and len(pts) == 8 * 6
    assert pts[:, 0].max() == 7 and pts[:, 1].max() == 5


@PROFILE
@given(any_text, box)
def test_box_score_in_unit_interval(text, ref):
    s = score_box(text, ref)
    assert s.value in (0.0, 1.0) and (s.parsed or s.value == 0.0)


@PROFILE
@given(st.text(max_size=200))
def test_normalize_answer_is_idempotent_and_total(text):
    once = normalize_answer(text)
    assert normalize_answer(once) == once
    assert once == once.strip() and "  " not in once


word = st.from_regex(r"[a-z]{3,8}( [a-z]{3,8}){0,2}", fullmatch=True)


@PROFILE
@given(st.lists(word, min_size=2, max_size=6, unique_by=normalize_answer), st.data())
def test_choice_round_trips_by_text_and_by_letter(choices, data):
    i = data.draw(st.integers(0, len(choices) - 1))
    assert parse_choice(choices[i], choices) == i
    assert parse_choice(choices[i].upper() + ".", choices) == i
    letter = chr(ord("A") + i)
    for said in (letter, f"({letter.lower()})", f"{letter}. {choices[i]}", f"The answer is {letter}"):
        assert parse_choice(said, choices) == i, said
    assert score_choice(choices[i], choices, choices[i]).value == 1.0


@PROFILE
@given(any_text, st.lists(st.text(max_size=20), min_size=1, max_size=6))
def test_parse_choice_never_crashes_and_stays_in_range(text, choices):
    idx = parse_choice(text, choices)
    assert idx is None or 0 <= idx < len(choices)


@PROFILE
@given(any_text, any_text)
def test_exact_score_in_unit_interval_and_reflexive(pred, answer):
    s = score_exact(pred, answer)
    assert s.value in (0.0, 1.0)
    if normalize_answer(answer):
        assert score_exact(answer, answer).value == 1.0
