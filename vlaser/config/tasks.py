"""Task ids the platform knows, without importing ManiSkill (which takes seconds).

Validation of ``params.yaml`` checks task ids against this list so that a misspelt id is caught at the
edge; ``vlaser.sim`` checks it again against ManiSkill's live registry when an environment is made.
"""

KNOWN_TASKS: frozenset[str] = frozenset(
    {
        # single-arm Panda tasks that need no downloads
        "PickCube-v1", "StackCube-v1", "PushCube-v1", "PullCube-v1", "PokeCube-v1", "PlaceSphere-v1",
        "LiftPegUpright-v1", "PegInsertionSide-v1", "PushT-v1", "RollBall-v1", "PullCubeTool-v1",
        # two-arm tasks (stand-ins for RoboTwin)
        "TwoRobotPickCube-v1", "TwoRobotStackCube-v1",
        # SimplerEnv WidowX (need the bridge_v2_real2sim asset)
        "PutCarrotOnPlateInScene-v1", "PutEggplantInBasketScene-v1", "PutSpoonOnTableClothInScene-v1",
        "StackGreenCubeOnYellowCubeBakedTexInScene-v1",
        # SimplerEnv Google Robot (through the simpler_env package)
        "google_robot_pick_coke_can", "google_robot_move_near", "google_robot_open_drawer",
        "google_robot_close_drawer",
    }
)
