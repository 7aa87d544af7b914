from toolssm import vocab as V
from toolssm.tasks import get_task
from toolssm.tokenizer import encode
from toolssm.tools import PointerMemory
from toolssm.trajectory import IGNORE_INDEX, Recorder, Trajectory, parse, render, replay

R1, M1 = V.pointer_token(1, "read"), V.pointer_token(1, "move_right")


def small():
    rec = Recorder(PointerMemory(1), "ab")
    rec.command(R1)
    rec.command(M1)
    rec.command(R1)
    rec.emit("x" + V.ANS + "y")
    return rec.traj


def test_recorder_roles_and_merging():
    t = small()
    assert t.segments == [("command", R1), ("observation", "a"), ("command", M1 + R1), ("observation", "b"), ("thought", "x"), ("output", V.ANS + "y")]
    assert t.output == "y"


def test_render_masks_prompt_and_observations_only():
    t = small()
    r = render(t)
    ids = encode("ab" + R1 + "a" + M1 + R1 + "b" + "x" + V.ANS + "y") + [V.TOKEN_TO_ID[V.EOS]]
    assert r["input_ids"] == ids
    masked = [i for i, l in enumerate(r["labels"]) if l == IGNORE_INDEX]
    assert masked == [0, 1, 3, 6]  # a, b (prompt) and the two observations
    assert r["labels"][-1] == V.TOKEN_TO_ID[V.EOS]
    assert [V.ROLES[x] for x in r["roles"]][:4] == ["prompt", "prompt", "command", "observation"]
    r2 = render(t, train_observations=True)
    assert [i for i, l in enumerate(r2["labels"]) if l == IGNORE_INDEX] == [0, 1]


def test_rows_round_trip():
    t = small()
    assert Trajectory.from_rows(t.prompt, t.to_rows()) == t


def test_replay_catches_a_corrupted_observation():
    t = get_task("addition").make_item(0, "test", 0, 6, train=False).trajectory
    assert replay(t, PointerMemory(2))
    segs = list(t.segments)
    k = next(i for i, (r, c) in enumerate(segs) if r == "observation" and c.isdigit() and i > 20)
    segs[k] = ("observation", str((int(segs[k][1]) + 1) % 10))
    bad = replay(Trajectory(t.prompt, segs), PointerMemory(2))
    assert not bad and bad.reason == "observation differs from the tool's answer"
    assert bad.expected == t.segments[k][1]


def test_replay_catches_missing_extra_and_misplaced_observations():
    t = small()
    no_obs = Trajectory(t.prompt, [s for s in t.segments if s[0] != "observation"])
    assert replay(no_obs, PointerMemory(1)).reason == "observation differs from the tool's answer"
    extra = Trajectory(t.prompt, t.segments[:4] + [("observation", "z")] + t.segments[4:])
    assert replay(extra, PointerMemory(1)).reason == "observation where the tool gave none"
    wrong_role = Trajectory(t.prompt, t.segments[:4] + [("output", "x")] + t.segments[5:])
    assert "wrong role" in replay(wrong_role, PointerMemory(1)).reason
    truncated = Trajectory(t.prompt, t.segments[:1])
    assert replay(truncated, PointerMemory(1)).reason == "trajectory ends before the observation"


def test_parse_inverts_render():
    for task in (get_task("addition"), get_task("logical_graph"), get_task("hanoi", "recursive")):
        item = task.make_item(1, "test", 0, 5, train=False)
        ids = render(item.trajectory)["input_ids"]
        n_prompt = len(encode(item.prompt))
        back = parse(item.prompt, ids[n_prompt:], task.tool())
        assert back == item.trajectory
