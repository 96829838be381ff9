"""The learned encoder: stable features, training that pulls paraphrases together, the
engine's use of it, and cross-fitting that never lets an encoder read a campaign it saw."""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from knowledge import transfer
from knowledge.encoder import BUCKETS, DIM, Encoder, Pair, featurize, train
from knowledge.engine import Engine
from knowledge.features import CANDIDATE_FEATURES
from knowledge.kb import Audience, load_kb
from knowledge.lexicon import builtin_lexicon
from knowledge.model import Model
from knowledge.segment import Segmenter
from knowledge.training import Sample
from tests.support.data import MINI_KB

ROOT = Path(__file__).parents[2]
ENC_COLUMNS = [CANDIDATE_FEATURES.index(n) for n in ("enc_max", "enc_lead", "enc_gap")]


@pytest.fixture(scope="module")
def seg() -> Segmenter:
    return Segmenter(builtin_lexicon())


def test_features_are_the_same_in_every_process() -> None:
    # Python's own str hash changes per process; the buckets must not, or shipped weights
    # would be read at the wrong rows.
    code = (
        "from knowledge.encoder import featurize;"
        "from knowledge.segment import Segmenter;from knowledge.lexicon import builtin_lexicon;"
        "ids,_=featurize(Segmenter(builtin_lexicon()).analyze('补贴什么时候到账'));"
        "print(sorted(ids.tolist()))"
    )
    outs = {
        subprocess.run(
            [sys.executable, "-c", code],
            capture_output=True,
            text=True,
            check=True,
            cwd=ROOT,
            env={**os.environ, "PYTHONHASHSEED": seed},
        ).stdout
        for seed in ("1", "2")
    }
    assert len(outs) == 1


def test_features_are_unit_weighted_words_and_character_grams(seg: Segmenter) -> None:
    ids, weights = featurize(seg.analyze("补贴到账"))
    assert len(ids) == len(set(ids.tolist())) > 4
    assert float(np.dot(weights, weights)) == pytest.approx(1.0, abs=1e-5)
    empty_ids, _ = featurize(seg.analyze(""))
    assert len(empty_ids) == 0


def _pairs(seg: Segmenter) -> list[Pair]:
    needs = {
        "when": ["补贴什么时候到账", "钱几时能到", "多久到账", "啥时候到账"],
        "refund": ["退货了补贴怎么办", "退款后补贴还在吗", "退了货券还能用吗"],
        "where": ["在哪里领券", "领取入口在哪", "怎么领补贴"],
        "shop": ["哪些门店能用", "可以用券的商家有哪些", "能用的店在哪查"],
    }
    out = []
    for need, texts in needs.items():
        feats = [featurize(seg.analyze(t)) for t in texts]
        out += [Pair(a, b, "c", need) for a in feats for b in feats if a is not b]
    return out


def test_training_brings_the_texts_of_one_need_together(seg: Segmenter) -> None:
    enc = train(_pairs(seg), epochs=30, batch=16)
    a = enc.encode(seg.analyze("钱几时能到"))
    same = enc.encode(seg.analyze("补贴什么时候到账"))
    other = enc.encode(seg.analyze("可以用券的商家有哪些"))
    assert float(a @ same) > float(a @ other) + 0.2


def test_an_encoder_survives_saving_and_loading(tmp_path: Path, seg: Segmenter) -> None:
    enc = train(_pairs(seg), epochs=2, batch=16)
    path = tmp_path / "enc.npz"
    enc.save(path)
    back = Encoder.load(path)
    assert back.table.shape == (BUCKETS, DIM)
    assert back.meta == enc.meta
    text = seg.analyze("多久到账")
    assert float(back.encode(text) @ enc.encode(text)) == pytest.approx(1.0, abs=1e-3)


def test_a_file_of_another_shape_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "enc.npz"
    Encoder(np.zeros((8, 4), dtype=np.float32), {}).save(path)
    with pytest.raises(ValueError, match="this code reads"):
        Encoder.load(path)


def test_the_engine_reads_similarities_only_with_an_encoder(seg: Segmenter) -> None:
    kb = load_kb(MINI_KB)
    enc = train(_pairs(seg), epochs=2, batch=16)
    with_enc = Engine(kb, model=Model.untrained(), encoder=enc)
    without = Engine(kb, model=Model.untrained(), encoder=None)
    scored = with_enc.score("补贴在哪里领", Audience.CONSUMER)
    assert any(scored.rows[i][c] > 0 for i in range(len(scored.rows)) for c in ENC_COLUMNS[:1])
    plain = without.score("补贴在哪里领", Audience.CONSUMER)
    assert all(row[c] == 0 for row in plain.rows for c in ENC_COLUMNS)
    # Re-encoding the plain candidates with the encoder gives the encoder's own columns.
    assert with_enc.reencode(plain, Audience.CONSUMER).rows == scored.rows


def _corpus(root: Path) -> list[transfer.Campaign]:
    sources = [
        (ROOT / "knowledge/data/kb.yaml", ROOT / "knowledge/data/queries.jsonl", 60),
        (ROOT / "docs/examples/kb.yaml", ROOT / "docs/examples/queries.jsonl", None),
        (MINI_KB, None, None),
    ]
    for n, (kb, queries, limit) in enumerate(sources):
        folder = root / f"c{n}"
        folder.mkdir(parents=True)
        shutil.copy(kb, folder / "kb.yaml")
        if queries is not None:
            lines = queries.read_text("utf-8").splitlines()[:limit]
        else:
            lines = ['{"query": "补贴怎么领", "audience": "consumer", "expected": null}']
        (folder / "queries.jsonl").write_text("\n".join(lines) + "\n", "utf-8")
    found, _ = transfer.find_campaigns(root)
    return found


def test_no_campaign_is_read_by_an_encoder_that_saw_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    trained_on: dict[int, set[str]] = {}
    real_encoder_for = transfer._encoder_for
    real_reencoded = transfer._Scored.reencoded
    reads: list[tuple[str, set[str]]] = []

    def encoder_for(scored: list[transfer._Scored], seed: int) -> Encoder:
        enc = real_encoder_for(scored, seed)
        trained_on[id(enc)] = {s.campaign.name for s in scored}
        return enc

    def reencoded(self: transfer._Scored, enc: Encoder) -> list[Sample]:
        reads.append((self.campaign.name, trained_on[id(enc)]))
        return real_reencoded(self, enc)

    monkeypatch.setattr(transfer, "_encoder_for", encoder_for)
    monkeypatch.setattr(transfer._Scored, "reencoded", reencoded)
    report = transfer.leave_one_out(_corpus(tmp_path), folds=2)
    assert len(report["campaigns"]) == 3
    assert reads, "the encoder was never used"
    for name, seen in reads:
        assert name not in seen
    # Each held-out campaign is read once by an encoder of all the others.
    assert {name for name, seen in reads if len(seen) == 2} == {"c0", "c1", "c2"}
