"""Scorers on hand-made answers: each metric's right, wrong and unparseable cases."""

from __future__ import annotations

import numpy as np
import pytest

from vlaser.evaluate import scorers as S


def test_point_in_mask_scores_the_fraction_of_all_points_inside():
    mask = np.zeros((10, 20))
    mask[:, :10] = 1.0  # left half of a 20-wide image
    # 0..1000 units: x=250 -> pixel 5 (inside), x=750 -> pixel 15 (outside)
    assert S.score_point("<point>[[250, 500]]</point>", mask) == S.Score(1.0, True)
    assert S.score_point("<point>[[750, 500]]</point>", mask) == S.Score(0.0, True)
    assert S.score_point("<point>[[250, 500], [750, 500]]</point>", mask).value == pytest.approx(0.5)
    # the far edge (1000) is the last pixel, not outside the image
    edge = np.zeros((10, 20))
    edge[9, 19] = 1.0
    assert S.score_point("<point>[[1000, 1000]]</point>", edge).value == 1.0


def test_point_accepts_where2place_tuples_and_counts_out_of_image_points_as_misses():
    mask = np.zeros((10, 20))
    mask[:, :10] = 1.0
    assert S.score_point("[(0.25, 0.5)]", mask).value == 1.0  # fractions of width/height
    assert S.score_point("[(5, 5), (15, 5)]", mask).value == pytest.approx(0.5)  # integer pixels
    assert S.score_point("[(5, 5), (500, 5)]", mask).value == pytest.approx(0.5)  # off-image: a miss
    soft = mask * 0.8  # JPEG masks contribute their value, as Where2Place's summarize_vqa.py does
    assert S.score_point("[(0.25, 0.5)]", soft).value == pytest.approx(0.8)


def test_point_unparseable_is_a_parse_failure():
    mask = np.ones((4, 4))
    assert S.score_point("the free space is on the left", mask) == S.FAILED
    assert S.score_point("<point>[[1, 2, 3]]</point>", mask) == S.FAILED


def test_box_iou_threshold():
    gt = [100, 100, 300, 300]
    assert S.box_iou(gt, gt) == 1.0
    assert S.box_iou([0, 0, 10, 10], [20, 20, 30, 30]) == 0.0
    assert S.box_iou([0, 0, 100, 100], [50, 0, 150, 100]) == pytest.approx(1 / 3)
    assert S.score_box("<box>[[100, 100, 300, 300]]</box>", gt) == S.Score(1.0, True)
    assert S.score_box("<ref>cube</ref><box>[[120, 100, 320, 300]]</box>", gt).value == 1.0  # IoU 0.82
    assert S.score_box("<box>[[200, 200, 400, 400]]</box>", gt) == S.Score(0.0, True)  # IoU 0.14
    assert S.score_box("somewhere", gt) == S.FAILED


def test_normalisation_of_case_punctuation_articles_and_number_words():
    assert S.normalize_answer("The Red Cube.") == "red cube"
    assert S.normalize_answer("Two") == "2"
    assert S.normalize_answer("a") == "a"  # an option letter survives
    assert S.score_exact("Three!", "3") == S.Score(1.0, True)
    assert S.score_exact("the green cube", "Green cube") == S.Score(1.0, True)
    assert S.score_exact("four", "3") == S.Score(0.0, True)
    assert S.score_exact("  ... ", "3") == S.FAILED


@pytest.mark.parametrize("answer, picked", [
    ("blue cube", 2), ("The Blue Cube.", 2), ("(B)", 1), ("B.", 1), ("b", 1), ("a", 0),
    ("C. blue cube", 2), ("The answer is C", 2), ("Answer: (a)", 0), ("I think it is the green cube", 1),
])
def test_choice_reads_text_and_option_letters(answer, picked):
    choices = ["red cube", "green cube", "blue cube"]
    assert S.parse_choice(answer, choices) == picked


def test_choice_unparseable_or_ambiguous_is_a_parse_failure():
    choices = ["red cube", "green cube", "blue cube"]
    for answer in ("", "purple", "red cube or blue cube", "E", "the answer is a cube"):
        assert S.score_choice(answer, choices, "red cube") == S.FAILED, answer
    assert S.score_choice("yes", ["yes", "no"], "no") == S.Score(0.0, True)
    assert S.score_choice("No.", ["yes", "no"], "no") == S.Score(1.0, True)
    assert S.score_choice("B", ["A", "B", "C", "D"], "B") == S.Score(1.0, True)  # ERQA: letters only


def test_plan_step_match_is_in_order():
    ref = ["move to the cube", "grasp the cube", "lift the cube"]
    assert S.score_plan("1. Move to the cube\n2. Grasp the cube\n3. Lift the cube", ref) == S.Score(1.0, True)
    assert S.score_plan("1. move to the cube 2. grasp the cube 3. lift the cube", ref).value == 1.0
    assert S.score_plan("move to the cube; lift the cube", ref).value == pytest.approx(2 / 3)
    # out of order: only the longest in-order run counts
    assert S.score_plan("lift the cube\ngrasp the cube\nmove to the cube", ref).value == pytest.approx(1 / 3)
    assert S.score_plan("   ", ref) == S.FAILED


def test_chance_level():
    assert S.chance_level([2, 4]) == pytest.approx(0.375)
    with pytest.raises(ValueError):
        S.chance_level([])
