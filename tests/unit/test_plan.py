from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml

from bot.cli import main
from escalation.incidents.plan import (
    DEFAULT_PLAN,
    LEVEL_KEYS,
    PlanError,
    Step,
    Trigger,
    load_plan,
    short_duration,
)

PLAN = load_plan()
M = timedelta(minutes=1)
H = timedelta(hours=1)


def test_the_shipped_plan_has_four_levels_from_red_to_blue() -> None:
    assert tuple(PLAN.levels) == LEVEL_KEYS
    labels = [PLAN.levels[k].label for k in LEVEL_KEYS]
    assert labels == ["Ⅰ级（特别重大）", "Ⅱ级（重大）", "Ⅲ级（较大）", "Ⅳ级（一般）"]
    assert [PLAN.levels[k].colour for k in LEVEL_KEYS] == ["红色", "橙色", "黄色", "蓝色"]
    assert all(PLAN.levels[k].criteria for k in LEVEL_KEYS)
    assert PLAN.chats == ("oncall", "supervisors", "leadership", "bureau")


def test_the_shipped_deadlines_and_chains() -> None:
    one, two, three, four = (PLAN.levels[k] for k in LEVEL_KEYS)
    assert [lv.acknowledge for lv in (one, two)] == [5 * M, 10 * M]
    assert [lv.first_report for lv in (one, two, three, four)] == [30 * M, H, H, 6 * H]
    assert [lv.follow_up for lv in (one, two, three, four)] == [2 * H, 2 * H, 4 * H, 24 * H]
    assert [lv.final_report for lv in (one, two, three, four)] == [24 * H, 24 * H, 48 * H, 48 * H]
    assert [lv.reminder for lv in (one, two, three, four)] == [30 * M, 30 * M, H, 4 * H]
    assert [lv.auto_report for lv in (one, two, three, four)] == [True, True, False, False]
    assert [lv.repeat for lv in (one, two, three, four)] == [2, 1, 1, 0]
    assert one.chain == (
        Step("oncall", 5 * M),
        Step("supervisors", 5 * M),
        Step("leadership", 5 * M),  # the last step waits the acknowledge time
    )
    assert [s.notify for s in three.chain] == ["oncall", "supervisors"]
    assert four.chain[0] == Step("oncall", 30 * M)


def test_the_shipped_triggers_and_keywords() -> None:
    by_name = {t.name: t for t in PLAN.triggers}
    assert by_name["系统故障集中投诉"] == Trigger(
        "III", 20, 10 * M, "系统故障", name="系统故障集中投诉"
    )
    assert by_name["系统故障大面积投诉"].level == "II"
    assert by_name["单一商户集中投诉"].merchant
    assert "外挂" in by_name["疑似外挂抢券"].phrases
    assert "信息泄露" in by_name["疑似个人信息泄露"].phrases
    assert by_name["人身安全"].count == 1
    assert {"打不开", "崩了", "领不了"} <= set(PLAN.keywords["系统故障"])
    assert "没到账" in PLAN.keywords["补贴未到账"]
    assert set(PLAN.templates) == {"first", "follow_up", "final"}


@pytest.mark.parametrize(
    ("text", "key"),
    [
        ("III", "III"),
        ("iii", "III"),
        ("3", "III"),
        ("Ⅲ", "III"),
        ("三级", "III"),
        ("Ⅲ级", "III"),
        ("较大", "III"),
        ("Ⅲ级（较大）", "III"),
        (" 3级 ", "III"),
        ("Ⅲ 级", "III"),
        ("iii 级响应", "III"),
        ("I", "I"),
        ("一级", "I"),
        ("特别重大", "I"),
        ("ii", "II"),
        ("重大", "II"),
        ("Ⅳ", "IV"),
        ("4", "IV"),
        ("一般", "IV"),
        ("四级", "IV"),
    ],
)
def test_levels_are_found_by_every_usual_spelling(text: str, key: str) -> None:
    assert PLAN.level(text).key == key


@pytest.mark.parametrize("text", ["V", "5", "五级", "严重", "", "II I"])
def test_an_unknown_level_is_refused_naming_the_valid_ones(text: str) -> None:
    with pytest.raises(PlanError) as caught:
        PLAN.level(text)
    message = str(caught.value)
    assert "无法识别" in message
    for label in ("Ⅰ级（特别重大）", "Ⅱ级（重大）", "Ⅲ级（较大）", "Ⅳ级（一般）"):
        assert label in message


def test_higher_and_lower() -> None:
    assert PLAN.higher("III") == "II"
    assert PLAN.higher("II") == "I"
    assert PLAN.higher("I") is None
    assert PLAN.lower("III") == "IV"
    assert PLAN.lower("I") == "II"
    assert PLAN.lower("IV") is None


def test_short_duration() -> None:
    assert short_duration(5 * M) == "5m"
    assert short_duration(90 * M) == "90m"
    assert short_duration(48 * H) == "48h"


# ---------------------------------------------------------------- invalid files


def _shipped() -> dict[str, Any]:
    data = yaml.safe_load(DEFAULT_PLAN.read_text(encoding="utf-8"))
    assert isinstance(data, dict)
    return data


def _write(tmp_path: Path, change: Callable[[dict[str, Any]], None]) -> Path:
    data = _shipped()
    change(data)
    path = tmp_path / "plan.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), "utf-8")
    return path


def _error(path: Path) -> str:
    with pytest.raises(PlanError) as caught:
        load_plan(path)
    message = str(caught.value)
    assert message.startswith(f"{path}: ")
    return message


def _set(*keys: str | int, value: Any) -> Callable[[dict[str, Any]], None]:
    def change(data: dict[str, Any]) -> None:
        node: Any = data
        for key in keys[:-1]:
            node = node[key]
        node[keys[-1]] = value

    return change


def _delete(*keys: str | int) -> Callable[[dict[str, Any]], None]:
    def change(data: dict[str, Any]) -> None:
        node: Any = data
        for key in keys[:-1]:
            node = node[key]
        del node[keys[-1]]

    return change


def test_a_copy_of_the_shipped_plan_loads(tmp_path: Path) -> None:
    assert load_plan(_write(tmp_path, lambda _data: None)) == PLAN


def test_a_bad_duration_names_the_field(tmp_path: Path) -> None:
    path = _write(tmp_path, _set("levels", "III", "deadlines", "acknowledge", value="soon"))
    assert _error(path) == (
        f"{path}: levels.III.deadlines.acknowledge: 'soon' is not a duration such as 30m, "
        "4h or 2d."
    )
    path = _write(tmp_path, _set("levels", "I", "deadlines", "follow_up", value="0m"))
    assert "levels.I.deadlines.follow_up: '0m' must be longer than zero" in _error(path)
    path = _write(tmp_path, _delete("levels", "II", "deadlines", "reminder"))
    assert "levels.II.deadlines.reminder: missing" in _error(path)
    path = _write(tmp_path, _set("triggers", 0, "within", value="10"))
    assert "triggers #1.within: '10' is not a duration" in _error(path)


def test_durations_may_be_days(tmp_path: Path) -> None:
    path = _write(tmp_path, _set("levels", "IV", "deadlines", "final_report", value="3d"))
    assert load_plan(path).levels["IV"].final_report == timedelta(days=3)


def test_typos_in_field_names_do_not_pass(tmp_path: Path) -> None:
    def typo(data: dict[str, Any]) -> None:
        data["levels"]["III"]["deadline"] = data["levels"]["III"].pop("deadlines")

    assert "levels.III: unknown field(s) ['deadline']" in _error(_write(tmp_path, typo))
    path = _write(tmp_path, _set("trigers", value=[]))
    assert "unknown field(s) ['trigers']" in _error(path)
    path = _write(tmp_path, _set("levels", "I", "deadlines", "acknowlege", value="5m"))
    assert "levels.I.deadlines: unknown field(s) ['acknowlege']" in _error(path)
    path = _write(tmp_path, _set("levels", "I", "chain", 0, "wiat", value="5m"))
    assert "levels.I.chain #1: unknown field(s) ['wiat']" in _error(path)
    path = _write(tmp_path, _set("triggers", 0, "categroy", value="系统故障"))
    assert "triggers #1: unknown field(s) ['categroy']" in _error(path)


def test_all_four_levels_are_needed(tmp_path: Path) -> None:
    assert "levels.IV: missing" in _error(_write(tmp_path, _delete("levels", "IV")))
    path = _write(tmp_path, _set("levels", "V", value={"name": "轻微"}))
    assert "levels: unknown level(s) ['V']" in _error(path)


def test_chains_notify_known_chats_or_people(tmp_path: Path) -> None:
    path = _write(tmp_path, _set("levels", "I", "chain", 1, "notify", value="supervisor"))
    message = _error(path)
    assert "levels.I.chain #2.notify: 'supervisor' is not a chat" in message
    assert "oncall, supervisors, leadership, bureau" in message
    path = _write(tmp_path, _set("levels", "I", "chain", 1, "notify", value="person:5512"))
    assert load_plan(path).levels["I"].chain[1] == Step("person:5512", 5 * M)
    path = _write(tmp_path, _set("levels", "I", "chain", 1, "notify", value="person:小王"))
    assert "levels.I.chain #2.notify" in _error(path)
    path = _write(tmp_path, _set("levels", "II", "chain", value=[]))
    assert "levels.II.chain: must be a non-empty list" in _error(path)
    path = _write(tmp_path, _delete("levels", "I", "chain", 0, "wait"))
    assert "levels.I.chain #1.wait: missing" in _error(path)


def test_level_fields_are_checked(tmp_path: Path) -> None:
    path = _write(tmp_path, _set("levels", "II", "repeat", value=-1))
    assert "levels.II.repeat: -1 must be a whole number, 0 or more" in _error(path)
    path = _write(tmp_path, _set("levels", "II", "auto_report", value="yes please"))
    assert "levels.II.auto_report" in _error(path)
    path = _write(tmp_path, _set("levels", "II", "criteria", value=""))
    assert "levels.II.criteria: must be non-empty text" in _error(path)
    path = _write(tmp_path, _set("levels", "IV", "name", value="较大"))
    assert "levels.IV.name: '较大' could also mean level III" in _error(path)


def test_triggers_count_exactly_one_thing(tmp_path: Path) -> None:
    path = _write(
        tmp_path, _set("triggers", 0, value={"level": "III", "count": 3, "within": "1h"})
    )
    assert "triggers #1: counts nothing" in _error(path)
    both = {"level": "IV", "count": 3, "within": "1h", "merchant": True, "category": "系统故障"}
    path = _write(tmp_path, _set("triggers", 0, value=both))
    assert "triggers #1: merchant: true counts per merchant" in _error(path)
    mixed = {
        "level": "三级",
        "count": 2,
        "within": "1h",
        "category": "系统故障",
        "phrases": ["崩了"],
    }
    path = _write(tmp_path, _set("triggers", 0, value=mixed))
    assert load_plan(path).triggers[0] == Trigger("III", 2, H, "系统故障", phrases=("崩了",))
    path = _write(tmp_path, _set("triggers", 2, "level", value="V"))
    assert "triggers #3.level: 'V' is not a level" in _error(path)
    path = _write(tmp_path, _set("triggers", 2, "count", value=0))
    assert "triggers #3.count: 0 must be a whole number, 1 or more" in _error(path)
    path = _write(tmp_path, _set("triggers", 4, "phrases", value=[]))
    assert "triggers #5.phrases: must be a non-empty list" in _error(path)


def test_risk_triggers_count_tags_the_scorer_knows(tmp_path: Path) -> None:
    shipped = {t.name: t for t in PLAN.triggers}["高风险舆情集中"]
    assert "media-exposure" in shipped.risk
    assert shipped.level == "III"
    bad = {"level": "III", "count": 3, "within": "1h", "risk": ["media-exposur"]}
    path = _write(tmp_path, _set("triggers", 0, value=bad))
    assert "triggers #1.risk: media-exposur is not a risk tag" in _error(path)
    mixed = {
        "level": "III",
        "count": 3,
        "within": "1h",
        "risk": ["privacy-leak"],
        "phrases": ["泄露"],
    }
    path = _write(tmp_path, _set("triggers", 0, value=mixed))
    assert "give it on its own" in _error(path)


def test_templates_use_only_known_placeholders(tmp_path: Path) -> None:
    path = _write(tmp_path, _set("templates", "first", value="关于{title}的{report_nmae}"))
    message = _error(path)
    assert "templates.first: unknown placeholder {report_nmae}" in message
    assert "report_name" in message
    path = _write(tmp_path, _set("templates", "final", value="{title.__class__}"))
    assert "templates.final: unknown placeholder {title.__class__}" in _error(path)
    path = _write(tmp_path, _set("templates", "final", value="第{}号"))
    assert "templates.final: unknown placeholder {}" in _error(path)
    path = _write(tmp_path, _set("templates", "follow_up", value="{title"))
    assert "templates.follow_up: not a valid template" in _error(path)
    path = _write(tmp_path, _set("templates", "follow_up", value="{tickets:%}{title:d}"))
    assert "templates.follow_up: cannot be filled in" in _error(path)
    assert "templates.final: missing" in _error(_write(tmp_path, _delete("templates", "final")))
    path = _write(tmp_path, _set("templates", "firsst", value="x"))
    assert "templates: unknown field(s) ['firsst']" in _error(path)


def test_unreadable_files_name_the_file(tmp_path: Path) -> None:
    with pytest.raises(PlanError, match="file not found"):
        load_plan(tmp_path / "none.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("levels: [\n", encoding="utf-8")
    with pytest.raises(PlanError, match="not valid YAML"):
        load_plan(bad)


# ---------------------------------------------------------------- helpdesk plan check


def test_plan_check_summarises_a_good_file(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["plan", "check", str(DEFAULT_PLAN)]) == 0
    out = capsys.readouterr().out
    assert f"{DEFAULT_PLAN}: OK — 4 levels, 9 triggers" in out
    assert "5 high-risk messages tagged media-exposure" in out
    assert "Ⅰ级（特别重大）" in out
    assert "Ⅳ级（一般）" in out
    assert "oncall 5m → supervisors 5m → leadership; repeat 2× after 5m" in out
    assert "系统故障集中投诉: 20 tickets of 系统故障 within 10m → Ⅲ级（较大）" in out


def test_plan_check_exits_2_naming_file_and_field(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = _write(tmp_path, _set("levels", "III", "deadlines", "acknowledge", value="soon"))
    assert main(["plan", "check", str(path)]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err == (
        f"error: {path}: levels.III.deadlines.acknowledge: 'soon' is not a duration such as "
        "30m, 4h or 2d.\n"
    )
    assert main(["plan", "check", str(tmp_path / "none.yaml")]) == 2
    assert "none.yaml: file not found" in capsys.readouterr().err


def test_plan_without_a_command_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["plan"]) == 2
    assert "helpdesk plan needs a command: check" in capsys.readouterr().err
