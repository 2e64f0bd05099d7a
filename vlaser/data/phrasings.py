"""Question phrasings, at least 8 per question type (docs/data.md lists the counts).

A template is ``(text, mode, polarity)``. Modes for two-object relations: ``rel`` answers with the
relation word ("left"/"right"), ``name`` answers with an object's name, ``yesno`` with "yes"/"no";
``polarity`` +1 asks about the first word of the pair (left, above, in front, nearer, closer), -1 about
the second. Other question types use mode ``text`` (answer formed by the generator).
"""

from __future__ import annotations

from typing import NamedTuple


class Template(NamedTuple):
    text: str
    mode: str = "text"
    polarity: int = 1


def _t(*texts: str, mode: str = "text", polarity: int = 1) -> list[Template]:
    return [Template(t, mode, polarity) for t in texts]


# Relation words (positive, negative) per spatial question type.
RELATION_WORDS: dict[str, tuple[str, str]] = {
    "left_right": ("left", "right"),
    "above_below": ("above", "below"),
    "image_above_below": ("above", "below"),
    "front_behind": ("in front", "behind"),
    "near_far": ("nearer", "farther"),
    "gripper_closer": ("closer", "farther"),
}

TEMPLATES: dict[str, list[Template]] = {
    # ---------------------------------------------------------------------------------- grounding
    "box": _t(
        "Give the bounding box of the {obj}.", "Where is the {obj}? Answer with a box.",
        "Locate the {obj} in the image.", "Please provide the bounding box of the {obj}.",
        "Detect the {obj} and output its box.", "Draw a box around the {obj}.",
        "Find the {obj}. Give its bounding box coordinates.", "What region of the image does the {obj} occupy?",
        "Output the box that encloses the {obj}.",
    ),
    "point": _t(
        "Point to the {obj}.", "Where is the {obj}? Answer with a point.", "Give one point on the {obj}.",
        "Mark the location of the {obj} with a point.", "Which pixel belongs to the {obj}? Give a point.",
        "Point at the {obj} in the image.", "Indicate the {obj} with a single point.",
        "Show me where the {obj} is by pointing to it.", "Click on the {obj}.",
    ),
    "points": _t(
        "Mark {k} points on the {obj}.", "Give {k} points that lie on the {obj}.",
        "Point to {k} different places on the {obj}.", "Sample {k} points inside the {obj}.",
        "Where can the gripper touch the {obj}? Give {k} points.", "List {k} points belonging to the {obj}.",
        "Indicate {k} locations on the {obj}.", "Output {k} points on the surface of the {obj}.",
    ),
    # ------------------------------------------------------------------------------------ spatial
    "left_right": [
        *_t("Is the {a} to the left or to the right of the {b}?", "Seen in the image, is the {a} left or right of the {b}?",
            "Is the {a} on the left or on the right of the {b}?", mode="rel"),
        *_t("Which is further to the left in the image, the {a} or the {b}?",
            "Which object appears on the left: the {a} or the {b}?", mode="name"),
        *_t("Which is further to the right in the image, the {a} or the {b}?", mode="name", polarity=-1),
        *_t("Is the {a} to the left of the {b}?", mode="yesno"),
        *_t("Is the {a} to the right of the {b}?", "Does the {a} appear right of the {b}?", mode="yesno", polarity=-1),
    ],
    "above_below": [
        *_t("Is the {a} above or below the {b}?", "Is the {a} higher or lower than the {b}? Answer above or below.",
            "Is the {a} located above or below the {b}?", mode="rel"),
        *_t("Which is higher up, the {a} or the {b}?", "Which is higher above the floor: the {a} or the {b}?", mode="name"),
        *_t("Which is lower, the {a} or the {b}?", mode="name", polarity=-1),
        *_t("Is the {a} above the {b}?", mode="yesno"),
        *_t("Is the {a} below the {b}?", mode="yesno", polarity=-1),
    ],
    "image_above_below": [  # out-of-domain pictures: position in the image, not height
        *_t("In the picture, is the {a} above or below the {b}?", "Is the {a} drawn above or below the {b}?",
            "Is the {a} placed higher or lower in the image than the {b}? Answer above or below.", mode="rel"),
        *_t("Which is higher in the image, the {a} or the {b}?", "Which appears nearer the top: the {a} or the {b}?",
            mode="name"),
        *_t("Which is lower in the image, the {a} or the {b}?", mode="name", polarity=-1),
        *_t("In the picture, is the {a} above the {b}?", mode="yesno"),
        *_t("In the picture, is the {a} below the {b}?", mode="yesno", polarity=-1),
    ],
    "front_behind": [
        *_t("From the camera's view, is the {a} in front of or behind the {b}?",
            "Is the {a} in front of the {b} or behind it, as seen from the camera?",
            "Seen from the viewer, is the {a} in front or behind relative to the {b}?", mode="rel"),
        *_t("Which is in front, as seen from the camera: the {a} or the {b}?",
            "Which object is closer to the front of the view, the {a} or the {b}?", mode="name"),
        *_t("Which is further back, as seen from the camera: the {a} or the {b}?", mode="name", polarity=-1),
        *_t("From the camera's view, is the {a} in front of the {b}?", mode="yesno"),
        *_t("From the camera's view, is the {a} behind the {b}?", mode="yesno", polarity=-1),
    ],
    "near_far": [
        *_t("Is the {a} nearer to or farther from the camera than the {b}?",
            "Is the {a} nearer or farther from the camera, compared with the {b}?", mode="rel"),
        *_t("Which is nearer to the camera, the {a} or the {b}?", "Which object is closest to the camera: the {a} or the {b}?",
            mode="name"),
        *_t("Which is farther from the camera, the {a} or the {b}?", "Which object is more distant from the viewer: the {a} or the {b}?",
            mode="name", polarity=-1),
        *_t("Is the {a} nearer to the camera than the {b}?", mode="yesno"),
        *_t("Is the {a} farther from the camera than the {b}?", mode="yesno", polarity=-1),
    ],
    "gripper_closer": [
        *_t("Which is closer to the gripper, the {a} or the {b}?", "Which object is the gripper nearest to: the {a} or the {b}?",
            "Which of the {a} and the {b} is closer to the robot's gripper?", mode="name"),
        *_t("Which is farther from the gripper, the {a} or the {b}?", mode="name", polarity=-1),
        *_t("Is the {a} closer to or farther from the gripper than the {b}?", mode="rel"),
        *_t("Is the {a} closer to the gripper than the {b}?", "Is the gripper nearer to the {a} than to the {b}?", mode="yesno"),
        *_t("Is the {a} farther from the gripper than the {b}?", mode="yesno", polarity=-1),
    ],
    "distance": _t(
        "Roughly how far apart are the {a} and the {b}? Options: {options}.",
        "About what is the distance between the {a} and the {b}? Choose from {options}.",
        "How far is the {a} from the {b}? Options: {options}.",
        "Estimate the distance from the {a} to the {b}. Pick one of {options}.",
        "What is the approximate gap between the {a} and the {b}? Options: {options}.",
        "Approximately how much space separates the {a} and the {b}? Choose: {options}.",
        "Give the rough distance between the {a} and the {b} ({options}).",
        "How distant is the {b} from the {a}? Answer with one of {options}.",
    ),
    "distance_gripper": _t(
        "Roughly how far is the gripper from the {obj}? Options: {options}.",
        "About how far must the gripper move to reach the {obj}? Choose from {options}.",
        "Estimate the distance between the gripper and the {obj}. Pick one of {options}.",
        "How close is the gripper to the {obj}? Options: {options}.",
        "What is the approximate distance from the robot's gripper to the {obj}? Options: {options}.",
        "Approximately how much space is between the gripper and the {obj}? Choose: {options}.",
        "Give the rough gripper-to-{obj} distance ({options}).",
        "How far away is the {obj} from the end effector? Answer with one of {options}.",
    ),
    # ----------------------------------------------------------------------------------- general QA
    "objects": _t(
        "Which objects can you see?", "List the objects in the scene.", "What task objects are visible?",
        "Name the objects on the table.", "What objects does the image show?", "Which items are in view?",
        "What can the robot see in front of it? List the objects.", "Enumerate the visible objects.",
    ),
    "count": _t(
        "How many {cats} are visible?", "Count the {cats} in the image.", "How many {cats} can you see?",
        "What is the number of {cats} in the scene?", "How many {cats} are there?",
        "Tell me how many {cats} the image shows.", "Number of visible {cats}?", "How many {cats} are in view?",
    ),
    "color": _t(
        "What colour is the {obj}?", "What is the colour of the {obj}?", "Which colour does the {obj} have?",
        "Name the colour of the {obj}.", "The {obj} is what colour?", "Describe the colour of the {obj} in one word.",
        "What color is the {obj}?", "Tell me the {obj}'s colour.",
    ),
    "gripper": [
        *_t("Is the gripper open or closed?", "What state is the gripper in, open or closed?",
            "Is the robot's gripper currently open or closed?", "Are the gripper fingers open or closed?",
            "Describe the gripper: open or closed?", mode="rel"),
        *_t("Is the gripper open?", "Are the gripper's fingers apart?", mode="yesno"),
        *_t("Is the gripper closed?", "Has the gripper closed its fingers?", mode="yesno", polarity=-1),
    ],
    "done": _t(
        "Has the task '{instruction}' been completed?", "Is the task '{instruction}' done?",
        "The robot was told to {instruction}. Has it succeeded?", "Has the robot finished: {instruction}?",
        "Is '{instruction}' accomplished in this image?", "Task: {instruction}. Is it complete?",
        "Did the robot {instruction} successfully?", "Judging by the image, is '{instruction}' achieved?",
    ),
    # ------------------------------------------------------------------------------------- planning
    "plan": _t(
        "The robot must {instruction}. List the sub-goals in order.", "Break the task '{instruction}' into steps.",
        "What are the steps to {instruction}?", "Plan how to {instruction}. Give ordered sub-goals.",
        "Task: {instruction}. Write the plan as numbered steps.", "How should the robot {instruction}? List the steps.",
        "Decompose '{instruction}' into sub-tasks.", "Give a step-by-step plan to {instruction}.",
    ),
    "next": _t(
        "The robot must {instruction}. What is the next sub-goal?", "Task: {instruction}. What should the robot do next?",
        "To {instruction}, what is the next step from here?", "What is the robot's next sub-goal for '{instruction}'?",
        "Given the task '{instruction}', which step comes next?", "The goal is to {instruction}. Next step?",
        "What should happen next to {instruction}?", "Which sub-goal should the robot pursue now to {instruction}?",
    ),
}

ANSWERS_YESNO = ("yes", "no")
GRIPPER_WORDS = ("open", "closed")

# Distance bins (metres, upper edges) for approximate-distance questions.
DISTANCE_BINS: tuple[tuple[float, str], ...] = (
    (0.05, "less than 5 cm"), (0.10, "5 to 10 cm"), (0.20, "10 to 20 cm"), (float("inf"), "more than 20 cm"),
)


def plural(noun: str) -> str:
    return noun + ("es" if noun.endswith(("s", "x", "ch", "sh")) else "s")


def distance_bin(d: float) -> str:
    return next(label for edge, label in DISTANCE_BINS if d < edge)


def counts() -> dict[str, int]:
    """Phrasings per question type (documented, and tested to be >= 8)."""
    return {name: len(ts) for name, ts in TEMPLATES.items()}
