import io
import json
import os
import subprocess
import sys
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from bot.cli import main
from escalation.incidents.plan import DEFAULT_PLAN
from tests.support.data import MINI_KB


def _json_lines(out: str) -> list[dict[str, object]]:
    return [json.loads(line) for line in out.splitlines() if line.strip()]


def test_ask_json_prints_the_contract_object(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["ask", "--kb", str(MINI_KB), "--json", "补贴在哪里领"]) == 0
    [obj] = _json_lines(capsys.readouterr().out)
    assert set(obj) == {"id", "score", "answer", "suggestions"}
    assert isinstance(obj["score"], float)
    assert isinstance(obj["suggestions"], list)
    assert (obj["id"] is None) == (obj["answer"] is None)


def test_ask_batch_answers_in_input_order(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    queries = tmp_path / "q.jsonl"
    lines = [
        {"query": "你好", "audience": "consumer", "expected": None},
        {"query": "门店怎么核销补贴", "audience": "merchant", "expected": "merchant-redeem"},
        {"query": "", "audience": "consumer", "expected": None},
    ]
    queries.write_text("\n".join(json.dumps(x, ensure_ascii=False) for x in lines), "utf-8")
    assert main(["ask", "--kb", str(MINI_KB), "--batch", str(queries), "--json"]) == 0
    out = _json_lines(capsys.readouterr().out)
    assert len(out) == 3
    assert out[0]["id"] is None
    assert out[0]["answer"]
    assert out[2]["id"] is None


def test_eval_json_reports_every_metric(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    queries = tmp_path / "q.jsonl"
    queries.write_text(
        '{"query": "补贴在哪里领", "audience": "consumer", "expected": "consumer-claim-how"}\n'
        '{"query": "今天天气怎么样", "audience": "consumer", "expected": null}\n',
        encoding="utf-8",
    )
    assert main(["eval", "--kb", str(MINI_KB), "--queries", str(queries), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert set(report) == {
        "in_scope_top1",
        "in_scope_top3",
        "null_abstained",
        "false_answer_rate",
        "overall_accuracy",
        "p50_ms",
        "p99_ms",
        "queries",
    }
    assert report["queries"] == 2
    assert report["in_scope_top1"] == 1.0


def test_kb_check_summarises_a_good_file(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["kb", "check", str(MINI_KB)]) == 0
    out = capsys.readouterr().out
    assert "5 entries" in out
    assert "consumer 3" in out
    assert "核销: 1" in out


def test_kb_check_exits_2_naming_file_entry_and_field(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text(
        "name: x\nentries:\n  - id: ok-1\n    audience: consumers\n    questions: [a]\n"
        "    answer: b\n",
        encoding="utf-8",
    )
    assert main(["kb", "check", str(bad)]) == 2
    err = capsys.readouterr().err
    assert "bad.yaml" in err
    assert "'ok-1' (#1)" in err
    assert "audience" in err


def test_eval_rejects_an_expected_id_the_kb_lacks(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    queries = tmp_path / "q.jsonl"
    queries.write_text('{"query": "x", "audience": "consumer", "expected": "nope"}\n', "utf-8")
    assert main(["eval", "--kb", str(MINI_KB), "--queries", str(queries)]) == 2
    assert "line 1: expected id 'nope'" in capsys.readouterr().err


def test_python_m_bot_help_lists_the_commands() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "bot", "--help"], capture_output=True, text=True, check=True
    )
    for command in ("chat", "ask", "eval", "kb"):
        assert command in done.stdout


def test_kb_train_then_calibrate_round_trip(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import shutil

    from knowledge.engine import Engine, calibration_path
    from knowledge.kb import load_kb
    from knowledge.model import Model

    kb = tmp_path / "kb.yaml"
    shutil.copy(MINI_KB, kb)
    rows = [
        ("补贴在哪里领", "consumer", "consumer-claim-how"),
        ("怎么领消费券", "consumer", "consumer-claim-how"),
        ("退货了券还在吗", "consumer", "consumer-refund"),
        ("退款后补贴会退回吗", "consumer", "consumer-refund"),
        ("旧冰箱怎么换新的", "consumer", "consumer-tradein"),
        ("以旧换新在哪参加", "consumer", "consumer-tradein"),
        ("门店扫码核销怎么弄", "merchant", "merchant-redeem"),
        ("商户怎么核销", "merchant", "merchant-redeem"),
        ("活动到哪天结束", "consumer", "all-period"),
        ("活动几号截止", "merchant", "all-period"),
        ("今天天气怎么样", "consumer", None),
        ("帮我写首诗", "consumer", None),
    ] * 2
    queries = tmp_path / "q.jsonl"
    queries.write_text(
        "\n".join(
            json.dumps({"query": q, "audience": a, "expected": e}, ensure_ascii=False)
            for q, a, e in rows
        ),
        encoding="utf-8",
    )
    out = tmp_path / "model.json"
    assert main(["kb", "train", "--set", str(kb), str(queries), "--out", str(out)]) == 0
    assert "with one campaign" in capsys.readouterr().err
    assert (tmp_path / "model.encoder.npz").exists()  # beside the model, not over the shipped
    model = Model.load(out)
    assert 0.0 < model.answer_threshold < 1.0
    assert main(["kb", "calibrate", "--kb", str(kb), "--queries", str(queries)]) == 0
    saved = json.loads(calibration_path(kb).read_text(encoding="utf-8"))
    assert saved["queries"] == len(rows)
    engine = Engine(load_kb(kb))
    assert engine.model.answer_threshold == saved["answer_threshold"]
    capsys.readouterr()


def test_kb_calibrate_refuses_too_few_queries(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    queries = tmp_path / "q.jsonl"
    queries.write_text('{"query": "补贴", "audience": "consumer", "expected": null}\n', "utf-8")
    assert main(["kb", "calibrate", "--kb", str(MINI_KB), "--queries", str(queries)]) == 2
    assert "too few" in capsys.readouterr().err


def test_serve_refuses_a_broken_sla_policy_naming_the_field(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    sla = tmp_path / "sla.yaml"
    sla.write_text("rules:\n  - match: {}\n    first_response: soon\n", encoding="utf-8")
    monkeypatch.setenv("HELPDESK_SLA_PATH", str(sla))
    monkeypatch.setenv("HELPDESK_DATABASE_URL", f"sqlite+aiosqlite:///{tmp_path / 'x.db'}")
    assert main(["serve"]) == 2
    err = capsys.readouterr().err
    assert "sla.yaml" in err
    assert "first_response" in err
    assert "30m" in err
    assert not (tmp_path / "x.db").exists()  # nothing started


def test_serve_refuses_a_malformed_plan_naming_the_field(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    plan = tmp_path / "plan.yaml"
    shipped = DEFAULT_PLAN.read_text(encoding="utf-8")
    plan.write_text(shipped.replace("acknowledge: 15m", "acknowledge: soon"), encoding="utf-8")
    monkeypatch.setenv("HELPDESK_PLAN_PATH", str(plan))
    monkeypatch.setenv("HELPDESK_DATABASE_URL", f"sqlite+aiosqlite:///{tmp_path / 'x.db'}")
    assert main(["serve"]) == 2
    err = capsys.readouterr().err
    assert "plan.yaml" in err
    assert "acknowledge" in err
    assert "30m" in err
    assert not (tmp_path / "x.db").exists()  # nothing started


def test_agents_token_needs_a_registered_agent(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HELPDESK_DATABASE_URL", f"sqlite+aiosqlite:///{tmp_path / 'a.db'}")
    assert main(["agents", "token", "7001"]) == 1
    assert "helpdesk agents add" in capsys.readouterr().err
    assert main(["agents", "add", "7001", "--name", "小王"]) == 0
    capsys.readouterr()
    assert main(["agents", "token", "7001"]) == 0
    token = capsys.readouterr().out.strip()
    assert len(token) >= 30


def test_data_erase_without_yes_and_without_a_terminal_refuses(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HELPDESK_DATABASE_URL", f"sqlite+aiosqlite:///{tmp_path / 'd.db'}")
    assert main(["data", "erase", "--user", "5512"]) == 2
    err = capsys.readouterr().err
    assert "telegram:5512" in err
    assert "--yes" in err
    assert not (tmp_path / "d.db").exists()  # refused before anything was opened


def test_data_export_and_erase_of_an_unknown_user_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HELPDESK_DATABASE_URL", f"sqlite+aiosqlite:///{tmp_path / 'd.db'}")
    assert main(["data", "export", "--user", "web:nobody"]) == 2
    assert "nothing is stored about web:nobody" in capsys.readouterr().err
    assert main(["data", "erase", "--user", "web:nobody", "--yes"]) == 2
    assert "nothing is stored about web:nobody" in capsys.readouterr().err
    assert main(["data", "export", "--user", "nobody"]) == 2
    assert "telegram:5512 or web:SESSION" in capsys.readouterr().err


def test_data_purge_dry_run_prints_every_count(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HELPDESK_DATABASE_URL", f"sqlite+aiosqlite:///{tmp_path / 'd.db'}")
    assert main(["data", "purge", "--dry-run"]) == 0  # the retention setting: 365 days
    out = capsys.readouterr().out
    assert "dry run: data older than 365 days" in out
    assert "nothing was changed" in out
    for line in ("messages would be deleted: 0", "tickets would be anonymised: 0"):
        assert line in out
    assert main(["data", "purge", "--older-than", "3"]) == 2
    assert "at least 7" in capsys.readouterr().err


@pytest.mark.parametrize("value", ["0", ""])
def test_data_purge_needs_a_period_when_data_is_kept_forever(
    value: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("HELPDESK_DATABASE_URL", f"sqlite+aiosqlite:///{tmp_path / 'd.db'}")
    monkeypatch.setenv("HELPDESK_RETENTION_DAYS", value)
    assert main(["data", "purge"]) == 2
    assert "--older-than" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("name", "value", "says"),
    [
        ("HELPDESK_RETENTION_DAYS", "3", "at least 7"),
        ("HELPDESK_RETENTION_DAYS", "a year", "integer"),
        ("HELPDESK_RETENTION_DAYS", "-1", "greater than or equal to 0"),
        ("HELPDESK_PURGE_CRON", "30 3 * *", "five"),
    ],
)
def test_a_wrong_retention_setting_stops_naming_the_variable(
    name: str,
    value: str,
    says: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("HELPDESK_DATABASE_URL", f"sqlite+aiosqlite:///{tmp_path / 'd.db'}")
    monkeypatch.setenv(name, value)
    assert main(["config"]) == 2
    err = capsys.readouterr().err
    assert name in err
    assert says in err


def test_each_report_kind_has_its_own_help(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as done:
        main(["report", "daily", "--help"])
    assert done.value.code == 0
    out = capsys.readouterr().out
    assert out.startswith("usage: helpdesk report daily")
    assert "--date" in out
    assert "Beijing time" in out


def test_stats_import_help_lists_every_column(capsys: pytest.CaptureFixture[str]) -> None:
    from escalation.digests.stats import COLUMNS

    with pytest.raises(SystemExit):
        main(["stats", "import", "--help"])
    out = capsys.readouterr().out
    for column in COLUMNS:
        assert column.header in out
        assert column.key in out


def test_a_reader_that_goes_away_gets_no_traceback() -> None:
    """`helpdesk config | head -1`: the pipe closes before the command has written."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "bot", "config"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env={
            "PATH": "/usr/bin:/bin",
            "HELPDESK_KB_PATH": str(MINI_KB),
            "HELPDESK_HOME": os.environ["HELPDESK_HOME"],  # the test run's, never the real one
        },
    )
    assert proc.stdout is not None
    assert proc.stderr is not None
    proc.stdout.close()  # before the interpreter has even started the command
    err = proc.stderr.read().decode()
    proc.stderr.close()
    assert proc.wait(timeout=60) == 141
    assert "Traceback" not in err
    assert "BrokenPipe" not in err


def _home_in(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Path, Path, Path]:
    """A HELPDESK_HOME without HELPDESK_DATABASE_URL, and two working directories."""
    home, here, there = (tmp_path / name for name in ("home", "here", "there"))
    here.mkdir()
    there.mkdir()
    monkeypatch.setenv("HELPDESK_HOME", str(home))
    monkeypatch.delenv("HELPDESK_DATABASE_URL", raising=False)
    return home, here, there


def test_an_agent_registered_in_one_directory_is_listed_from_another(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    home, here, there = _home_in(tmp_path, monkeypatch)

    def helpdesk(cwd: Path, *args: str) -> str:
        done = subprocess.run(
            [sys.executable, "-m", "bot", *args],
            cwd=cwd,
            capture_output=True,
            text=True,
            check=True,
            timeout=120,
        )
        return done.stdout

    helpdesk(here, "agents", "add", "7001", "--name", "小王", "--role", "supervisor")
    assert "7001\tsupervisor\t小王" in helpdesk(there, "agents", "list")
    assert (home / "helpdesk.db").is_file()
    assert not (here / "var").exists()
    assert not (there / "var").exists()


def test_a_report_from_another_directory_counts_the_chat_of_this_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    _, here, there = _home_in(tmp_path, monkeypatch)
    monkeypatch.chdir(here)
    monkeypatch.setattr(sys, "stdin", io.StringIO("1\n补贴在哪里领\n"))
    assert main(["chat", "--kb", str(MINI_KB)]) == 0
    today = datetime.now(ZoneInfo("Asia/Shanghai")).date().isoformat()
    monkeypatch.chdir(there)
    capsys.readouterr()
    assert main(["report", "daily", "--date", today, "--format", "json", "--out", "."]) == 0
    report = json.loads((there / f"daily-{today}.json").read_text("utf-8"))
    assert report["messages_in"] >= 3  # /start, the role and the question
    assert report["questions"]["asked"] >= 1


def test_config_shows_the_data_directory_and_database_as_absolute_paths(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("HELPDESK_HOME", "data")  # relative: taken from here, once
    monkeypatch.setenv("HELPDESK_DATABASE_URL", "sqlite+aiosqlite:///db/helpdesk.db")
    assert main(["config"]) == 0
    shown = dict(line.split("=", 1) for line in capsys.readouterr().out.splitlines())
    assert shown["HELPDESK_HOME"] == str(tmp_path / "data")
    assert shown["HELPDESK_DATABASE_URL"] == (
        f"sqlite+aiosqlite:///{tmp_path / 'data' / 'db' / 'helpdesk.db'}"
    )


def test_config_by_default_puts_the_database_in_the_data_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("HELPDESK_HOME")
    monkeypatch.delenv("HELPDESK_DATABASE_URL", raising=False)
    assert main(["config"]) == 0
    shown = dict(line.split("=", 1) for line in capsys.readouterr().out.splitlines())
    home = Path(shown["HELPDESK_HOME"])
    assert home.is_absolute()
    assert tmp_path not in home.parents
    assert "site-packages" not in home.parts
    assert shown["HELPDESK_DATABASE_URL"] == f"sqlite+aiosqlite:///{home / 'helpdesk.db'}"


def test_the_data_directory_env_file_is_read_from_any_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    home, here, _ = _home_in(tmp_path, monkeypatch)
    home.mkdir()
    (home / ".env").write_text("HELPDESK_WEB_PORT=8099\n", encoding="utf-8")
    (here / ".env").write_text("HELPDESK_WEB_PORT=8098\nHELPDESK_WEB_HOST=0.0.0.0\n", "utf-8")
    monkeypatch.chdir(here)
    monkeypatch.delenv("HELPDESK_WEB_PORT", raising=False)
    monkeypatch.delenv("HELPDESK_WEB_HOST", raising=False)
    assert main(["config"]) == 0
    shown = dict(line.split("=", 1) for line in capsys.readouterr().out.splitlines())
    assert shown["HELPDESK_WEB_PORT"] == "8099"  # HELPDESK_HOME's .env wins
    assert shown["HELPDESK_WEB_HOST"] == "0.0.0.0"  # the current directory's still counts


def test_a_data_directory_that_cannot_be_made_stops_with_what_to_do(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "file").write_text("", encoding="utf-8")
    monkeypatch.setenv("HELPDESK_HOME", str(tmp_path / "file" / "home"))
    monkeypatch.delenv("HELPDESK_DATABASE_URL", raising=False)
    assert main(["agents", "list"]) == 2
    err = capsys.readouterr().err
    assert str(tmp_path / "file" / "home") in err
    assert "cannot create it" in err
    assert "HELPDESK_HOME" in err
