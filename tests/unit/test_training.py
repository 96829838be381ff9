import random

from knowledge.features import CANDIDATE_FEATURES
from knowledge.model import GATE_FEATURES, Model, fit_logistic, fit_ranker
from knowledge.training import MAX_FALSE_ANSWER_RATE, choose_thresholds

D = len(CANDIDATE_FEATURES)


def _row(signal: float, rng: random.Random) -> list[float]:
    row = [rng.random() for _ in range(D)]
    row[CANDIDATE_FEATURES.index("cov_q")] = signal
    return row


def test_fit_ranker_learns_which_feature_marks_the_right_candidate() -> None:
    rng = random.Random(1)
    groups = []
    for _ in range(60):
        rows = [_row(rng.random() * 0.5, rng) for _ in range(5)]
        right = rng.randrange(5)
        rows[right] = _row(0.6 + rng.random() * 0.4, rng)
        groups.append((rows, right))
    ranker = fit_ranker(groups)
    model = Model(ranker, ranker, fit_logistic([], [], GATE_FEATURES))
    hits = 0
    for rows, right in groups:
        probs = model.rank(rows)
        hits += max(range(len(probs)), key=probs.__getitem__) == right
    assert hits >= 55
    assert ranker.weights[CANDIDATE_FEATURES.index("cov_q")] > 0


def test_fit_logistic_separates_and_is_calibrated_in_the_middle() -> None:
    rng = random.Random(2)
    rows, labels = [], []
    for _ in range(400):
        x = rng.random()
        rows.append([x] + [rng.random() for _ in GATE_FEATURES[1:]])
        labels.append(int(rng.random() < x))
    gate = fit_logistic(rows, labels, GATE_FEATURES)
    mid = [0.5] + [0.5] * (len(GATE_FEATURES) - 1)
    low = [0.05] + [0.5] * (len(GATE_FEATURES) - 1)
    assert gate.raw(low) < gate.raw(mid)
    assert abs(gate.raw(mid)) < 0.6  # P near 0.5 where the label is a coin toss


def test_choose_thresholds_stays_within_the_false_answer_budget() -> None:
    # Confidence 0.9 answers are right, 0.5 ones are wrong, 0.2 ones are null queries.
    expected = ["a"] * 50 + ["b"] * 20 + [None] * 30
    top = ["a"] * 50 + ["x"] * 20 + ["y"] * 30
    conf = [0.9] * 50 + [0.5] * 20 + [0.2] * 30
    answer_t, suggest_t, _ = choose_thresholds(expected, top, conf, n_total=100, abstained_right=0)
    assert 0.5 < answer_t <= 0.9
    assert suggest_t < answer_t
    answered_wrong = sum(1 for c in conf[50:] if c >= answer_t)
    assert answered_wrong / 100 <= MAX_FALSE_ANSWER_RATE
