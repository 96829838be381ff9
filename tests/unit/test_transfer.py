"""Leave-one-campaign-out measurement: `helpdesk eval --corpus DIR --leave-one-out`."""

import json
import shutil
from pathlib import Path

import pytest

from bot.cli import main
from knowledge import training, transfer
from knowledge.engine import Kind, Result
from knowledge.evaluate import LabelledQuery
from knowledge.kb import Audience, KbError
from knowledge.model import Model
from knowledge.training import Sample

ROOT = Path(__file__).parents[2]
BUNDLED_KB = ROOT / "knowledge" / "data" / "kb.yaml"
BUNDLED_QUERIES = ROOT / "knowledge" / "data" / "queries.jsonl"
EXAMPLE_KB = ROOT / "docs" / "examples" / "kb.yaml"
EXAMPLE_QUERIES = ROOT / "docs" / "examples" / "queries.jsonl"


def _campaign(root: Path, name: str, kb: Path, queries: Path, limit: int | None = None) -> Path:
    folder = root / name
    folder.mkdir(parents=True)
    shutil.copy(kb, folder / "kb.yaml")
    lines = queries.read_text("utf-8").splitlines()
    (folder / "queries.jsonl").write_text("\n".join(lines[:limit]) + "\n", "utf-8")
    return folder


@pytest.fixture
def corpus(tmp_path: Path) -> Path:
    root = tmp_path / "corpus"
    _campaign(root, "bundled", BUNDLED_KB, BUNDLED_QUERIES, limit=120)
    _campaign(root, "example", EXAMPLE_KB, EXAMPLE_QUERIES)
    (root / "unfinished").mkdir()
    (root / "unfinished" / "rules.md").write_text("# rules only\n", "utf-8")
    return root


def test_find_campaigns_skips_folders_without_both_files(corpus: Path) -> None:
    found, skipped = transfer.find_campaigns(corpus)
    assert [c.name for c in found] == ["bundled", "example"]
    assert skipped == ["unfinished: no kb.yaml or queries.jsonl yet"]


def test_find_campaigns_refuses_a_file(tmp_path: Path) -> None:
    with pytest.raises(KbError, match="not a folder"):
        transfer.find_campaigns(tmp_path / "missing")


def test_one_step_resolution_counts_answers_choices_and_right_abstentions() -> None:
    def q(expected: str | None) -> LabelledQuery:
        return LabelledQuery("问", Audience.CONSUMER, expected)

    queries = [q("a"), q("a"), q("a"), q("a"), q(None), q(None), q(None)]
    results = [
        Result(Kind.ANSWER, "a", 0.9, "答"),  # right answer
        Result(Kind.SUGGEST, None, 0.4, None, ("b", "a")),  # right entry among the choices
        Result(Kind.SUGGEST, None, 0.4, None, ("b", "c")),  # choices without it
        Result(Kind.ANSWER, "b", 0.9, "答"),  # wrong answer
        Result(Kind.ABSTAIN, None, 0.1, None),  # right abstention
        Result(Kind.SUGGEST, None, 0.3, None, ("b",)),  # choices: a person is a press further
        Result(Kind.ANSWER, "b", 0.9, "答"),  # answered what no entry answers
    ]
    assert transfer.one_step_resolution(queries, results) == round(3 / 7, 4)
    errors = transfer.error_classes(queries, results)
    assert errors["answered_right"] == errors["right_among_choices"] == 1
    assert errors["null_abstained"] == errors["null_offered_choices"] == 1
    assert errors["null_answered"] == errors["answered_wrong_entry"] == 1
    assert errors["not_a_candidate"] == 1  # the choices without it, and nothing ranked


def test_each_campaign_is_measured_by_a_model_that_never_saw_it(
    corpus: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    seen: list[set[str]] = []
    real_fit = training.fit_model

    def recording_fit(samples: list[Sample]) -> Model:
        seen.append({s.query.query for s in samples})
        return real_fit(samples)

    monkeypatch.setattr("knowledge.transfer.fit_model", recording_fit)
    campaigns, _ = transfer.find_campaigns(corpus)
    report = transfer.leave_one_out(campaigns)

    bundled = {
        json.loads(x)["query"] for x in BUNDLED_QUERIES.read_text("utf-8").splitlines()[:120]
    }
    example = {json.loads(x)["query"] for x in EXAMPLE_QUERIES.read_text("utf-8").splitlines()}
    assert seen == [example, bundled]  # bundled is measured first, trained on example alone
    rows = report["campaigns"]
    assert [r["campaign"] for r in rows] == ["bundled", "example"]
    assert [r["queries"] for r in rows] == [120, len(example)]
    for key, worse in transfer.MEASURES:
        values = [r[key] for r in rows]
        assert report["mean"][key] == round(sum(values) / 2, 4)
        assert report["worst"][key] == worse(values)
        assert all(0.0 <= v <= 1.0 for v in values)


def test_train_only_sets_are_trained_on_but_never_measured(corpus: Path) -> None:
    campaigns, _ = transfer.find_campaigns(corpus)
    report = transfer.leave_one_out(
        campaigns[:1], train_only=[transfer.campaign_of(EXAMPLE_KB, EXAMPLE_QUERIES)]
    )
    assert [r["campaign"] for r in report["campaigns"]] == ["bundled"]
    assert report["trained_also_on"] == ["examples"]  # docs/examples/kb.yaml: its folder


def test_leave_one_out_needs_two_campaigns(corpus: Path) -> None:
    campaigns, _ = transfer.find_campaigns(corpus)
    with pytest.raises(KbError, match="at least two campaigns"):
        transfer.leave_one_out(campaigns[:1])


def test_cli_prints_a_row_per_campaign_then_mean_and_worst(
    corpus: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["eval", "--corpus", str(corpus), "--leave-one-out"]) == 0
    captured = capsys.readouterr()
    lines = captured.out.splitlines()
    assert lines[0].split() == [
        "campaign",
        "queries",
        "overall",
        "false",
        "top1",
        "top3",
        "one-step",
    ]
    assert [line.split()[0] for line in lines[1:5]] == ["bundled", "example", "mean", "worst"]
    assert lines[5].startswith("what happened to the queries, all campaigns: answered right ")
    assert "skipped unfinished: no kb.yaml or queries.jsonl yet" in captured.err


def test_cli_json_has_rows_mean_and_worst(
    corpus: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["eval", "--corpus", str(corpus), "--leave-one-out", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert set(report) == {"campaigns", "mean", "worst", "trained_also_on", "errors"}
    assert sum(report["errors"].values()) == sum(r["queries"] for r in report["campaigns"])
    assert set(report["mean"]) == {k for k, _ in transfer.MEASURES}
    assert {"one_step_resolution", "overall_accuracy", "answer_threshold"} <= set(
        report["campaigns"][0]
    )


def test_cli_without_the_encoder_trains_none(
    corpus: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    def no_training(*_: object) -> None:
        raise AssertionError("an encoder was trained")

    monkeypatch.setattr("knowledge.transfer._encoder_for", no_training)
    args = ["eval", "--corpus", str(corpus), "--leave-one-out", "--no-encoder", "--json"]
    assert main(args) == 0
    assert len(json.loads(capsys.readouterr().out)["campaigns"]) == 2


def test_cli_adds_campaigns_given_as_files(
    corpus: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    shutil.rmtree(corpus / "example")
    args = ["eval", "--corpus", str(corpus), "--leave-one-out", "--json"]
    assert main([*args, "--campaign", str(EXAMPLE_KB), str(EXAMPLE_QUERIES)]) == 0
    report = json.loads(capsys.readouterr().out)
    assert [r["campaign"] for r in report["campaigns"]] == ["bundled", "examples"]


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--kb", "x.yaml"], "drop --kb"),
        ([], "needs --corpus"),
    ],
)
def test_cli_refuses_what_does_not_go_with_leave_one_out(
    extra: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exc:
        main(["eval", "--leave-one-out", *extra])
    assert exc.value.code == 2
    assert message in capsys.readouterr().err


def test_cli_without_leave_one_out_still_needs_kb_and_queries(
    corpus: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit):
        main(["eval", "--corpus", str(corpus)])
    assert "go with --leave-one-out" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["eval", "--kb", "x.yaml", "--queries", "q.jsonl", "--no-encoder"])
    assert "go with --leave-one-out" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["eval"])
    assert "eval needs --kb FILE --queries FILE" in capsys.readouterr().err


def test_cli_names_a_bad_corpus_folder(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["eval", "--corpus", str(tmp_path / "nope"), "--leave-one-out"]) == 2
    assert "not a folder" in capsys.readouterr().err
