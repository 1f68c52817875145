"""The MetaInf selector: task features -> predicted throughput per option, and its baselines.

The table (`bench.Row`s) gives, per task (model, workload, output length, hardware), the
tokens/s of every option. Scores are log speedups over the fixed default (``plain/t2``).

- `MetaLearner` (ours, after MetaInf): one regressor over (task features, option descriptors)
  -> log speedup, so what is learned about an option's parts (drafting, prefix reuse, threads,
  weights) carries across options and tasks; choose the best allowed option.
- baselines on the same table: best fixed option, random (its expectation), gradient boosting
  and random forest classifiers of the best option, ISAC (k-means clusters of tasks, best option
  per cluster), ALORS (matrix factorization of the task x option scores, features -> latent
  task vector by a random forest).

`evaluate` holds out one model (or one hardware) at a time and reports top-1 accuracy, mean and
p95 regret (throughput lost vs the oracle) and the geometric-mean speedup over the default.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
from sklearn.cluster import KMeans
from sklearn.ensemble import (
    ExtraTreesRegressor,
    GradientBoostingClassifier,
    RandomForestClassifier,
    RandomForestRegressor,
)
from sklearn.preprocessing import StandardScaler

from inference_worker.accel.bench import Row
from inference_worker.accel.methods import DEFAULT_OPTION, parse_option

HW_LEVEL = {"DEFAULT": 0, "AVX2": 1, "AVX512": 2}
TaskKey = tuple[str, str, int, str]  # model, workload, output tokens, hardware


@dataclass(frozen=True)
class Task:
    key: TaskKey
    features: tuple[float, ...]
    speed: dict[str, float]  # option -> tokens/s
    precision: dict[str, str]  # option -> exact / lossy


def task_features(
    *,
    params: int,
    hidden: int,
    layers: int,
    family: str,
    prompt_tokens: int,
    prompt_repeat: int,
    shared_prefix: int,
    output_tokens: int,
    hardware: str,
) -> tuple[float, ...]:
    """What a worker knows about a session before running it (no workload label)."""
    return (
        math.log2(max(params, 1)),
        float(hidden),
        float(layers),
        1.0 if family == "llama" else 0.0,
        math.log2(max(prompt_tokens, 1)),
        prompt_repeat / 1000,
        shared_prefix / max(prompt_tokens, 1),
        math.log2(max(output_tokens, 1)),
        float(HW_LEVEL.get(hardware, 2)),
    )


def option_features(option: str) -> tuple[float, ...]:
    method, threads = parse_option(option)
    return (
        float(method.draft_tokens),
        float(method.prefix_cache),
        float(method.static_cache),
        float(method.weights == "bf16"),
        float(method.weights == "int8mix"),
        float(threads),
    )


def build_tasks(rows: Sequence[Row]) -> list[Task]:
    """Group rows into tasks; only tasks with the default measured are kept."""
    grouped: dict[TaskKey, list[Row]] = {}
    for row in rows:
        grouped.setdefault((row.model, row.workload, row.output_tokens, row.hardware), []).append(
            row
        )
    tasks = []
    for key in sorted(grouped):
        group = grouped[key]
        base = next((r for r in group if r.option == DEFAULT_OPTION), None)
        if base is None:
            continue
        features = task_features(
            params=base.params, hidden=base.hidden, layers=base.layers, family=base.family,
            prompt_tokens=base.prompt_tokens, prompt_repeat=base.prompt_repeat,
            shared_prefix=base.shared_prefix, output_tokens=base.output_tokens,
            hardware=base.hardware,
        )  # fmt: skip
        speed = {r.option: r.tokens_per_s for r in group}
        tasks.append(Task(key, features, speed, {r.option: r.precision for r in group}))
    return tasks


def allowed_options(task: Task, lossy: bool) -> list[str]:
    return sorted(o for o in task.speed if lossy or task.precision[o] == "exact")


def _score(task: Task, option: str) -> float:
    """log speedup of `option` over the default on `task`."""
    return math.log(task.speed[option] / task.speed[DEFAULT_OPTION])


Selector = Callable[[Task, list[str]], str]  # (task, allowed options) -> chosen option
Trainer = Callable[[list[Task], bool], Selector]


class MetaLearner:
    """Regressor over (task features, option descriptors) -> log speedup over the default."""

    def __init__(self, seed: int = 0):
        self.model = ExtraTreesRegressor(n_estimators=150, min_samples_leaf=2, random_state=seed)

    def fit(self, tasks: Sequence[Task], lossy: bool) -> MetaLearner:
        x, y = [], []
        for task in tasks:
            for option in allowed_options(task, lossy):
                x.append(task.features + option_features(option))
                y.append(_score(task, option))
        self.model.fit(np.array(x), np.array(y))
        return self

    def predict(self, features: tuple[float, ...], options: Sequence[str]) -> dict[str, float]:
        """Predicted log speedup over the default of each option."""
        x = np.array([features + option_features(o) for o in options])
        return dict(zip(options, (float(v) for v in self.model.predict(x)), strict=True))

    def choose(self, features: tuple[float, ...], options: Sequence[str]) -> tuple[str, float]:
        """(best predicted option, its predicted speedup); ties go to the first in `options`."""
        predicted = self.predict(features, options)
        best = max(options, key=lambda o: predicted[o])
        return best, math.exp(predicted[best])


def train_meta(tasks: list[Task], lossy: bool) -> Selector:
    learner = MetaLearner().fit(tasks, lossy)
    return lambda task, options: learner.choose(task.features, options)[0]


def train_best_fixed(tasks: list[Task], lossy: bool) -> Selector:
    options = sorted({o for t in tasks for o in allowed_options(t, lossy)})
    mean = {o: np.mean([_score(t, o) for t in tasks if o in t.speed]) for o in options}
    ranking = sorted(options, key=lambda o: -mean[o])
    return lambda task, allowed: next(o for o in ranking if o in allowed)


def _best(task: Task, options: Sequence[str]) -> str:
    return max(options, key=lambda o: task.speed[o])


def _classifier(make: Callable[[], object]) -> Trainer:
    def train(tasks: list[Task], lossy: bool) -> Selector:
        labels = [_best(t, allowed_options(t, lossy)) for t in tasks]
        if len(set(labels)) == 1:
            return lambda task, allowed: labels[0] if labels[0] in allowed else allowed[0]
        model = make()
        model.fit(np.array([t.features for t in tasks]), labels)  # type: ignore[attr-defined]

        def select(task: Task, allowed: list[str]) -> str:
            proba = model.predict_proba(np.array([task.features]))[0]  # type: ignore[attr-defined]
            ranked = [model.classes_[i] for i in np.argsort(-proba)]  # type: ignore[attr-defined]
            return next((o for o in ranked if o in allowed), allowed[0])

        return select

    return train


train_gradient_boosting = _classifier(
    lambda: GradientBoostingClassifier(n_estimators=50, max_depth=2, random_state=0)
)
train_random_forest = _classifier(lambda: RandomForestClassifier(n_estimators=100, random_state=0))


def train_isac(tasks: list[Task], lossy: bool, clusters: int = 8) -> Selector:
    scaler = StandardScaler().fit([t.features for t in tasks])
    k = min(clusters, len(tasks))
    kmeans = KMeans(n_clusters=k, n_init=10, random_state=0).fit(
        scaler.transform([t.features for t in tasks])
    )
    options = sorted({o for t in tasks for o in allowed_options(t, lossy)})
    best_by_cluster = {}
    for c in range(k):
        members = [t for t, label in zip(tasks, kmeans.labels_, strict=True) if label == c]
        mean = {
            o: np.mean([_score(t, o) for t in members if o in t.speed] or [-9.0]) for o in options
        }
        best_by_cluster[c] = sorted(options, key=lambda o: -mean[o])

    def select(task: Task, allowed: list[str]) -> str:
        c = int(kmeans.predict(scaler.transform([task.features]))[0])
        return next(o for o in best_by_cluster[c] if o in allowed)

    return select


def train_alors(tasks: list[Task], lossy: bool, rank: int = 3) -> Selector:
    options = sorted({o for t in tasks for o in allowed_options(t, lossy)})
    matrix = np.array([[_score(t, o) if o in t.speed else 0.0 for o in options] for t in tasks])
    u, s, vt = np.linalg.svd(matrix, full_matrices=False)
    r = min(rank, len(s))
    latent = u[:, :r] * s[:r]  # (tasks, r)
    mapper = RandomForestRegressor(n_estimators=100, random_state=0)
    mapper.fit(np.array([t.features for t in tasks]), latent)

    def select(task: Task, allowed: list[str]) -> str:
        z = mapper.predict(np.array([task.features])).reshape(1, -1)
        predicted = (z @ vt[:r, :])[0]
        ranked = [options[i] for i in np.argsort(-predicted)]
        return next((o for o in ranked if o in allowed), allowed[0])

    return select


TRAINERS: dict[str, Trainer] = {
    "metainf (ours)": train_meta,
    "best fixed": train_best_fixed,
    "gradient boosting": train_gradient_boosting,
    "random forest": train_random_forest,
    "ISAC": train_isac,
    "ALORS": train_alors,
}


@dataclass(frozen=True)
class Scores:
    tasks: int
    accuracy: float  # chosen == the measured best
    within_5pct: float  # chosen within 5 % of the best's tokens/s
    mean_regret: float  # mean of 1 - chosen / best
    p95_regret: float
    speedup: float  # geometric mean of chosen / default


def _scores(picks: list[tuple[Task, str, list[str]]]) -> Scores:
    regrets, logs, hits, near = [], [], 0, 0
    for task, chosen, allowed in picks:
        best = task.speed[_best(task, allowed)]
        regret = 1 - task.speed[chosen] / best
        regrets.append(regret)
        hits += task.speed[chosen] == best
        near += regret <= 0.05
        logs.append(_score(task, chosen))
    n = len(picks)
    return Scores(
        tasks=n,
        accuracy=hits / n,
        within_5pct=near / n,
        mean_regret=float(np.mean(regrets)),
        p95_regret=float(np.percentile(regrets, 95)),
        speedup=math.exp(float(np.mean(logs))),
    )


def random_scores(tasks: Sequence[Task], lossy: bool) -> Scores:
    """The random selector's expectation (every allowed option equally likely)."""
    picks = [(t, o, allowed_options(t, lossy)) for t in tasks for o in allowed_options(t, lossy)]
    scores = _scores(picks)
    return Scores(
        len(tasks),
        *(
            getattr(scores, f)
            for f in ("accuracy", "within_5pct", "mean_regret", "p95_regret", "speedup")
        ),
    )


def evaluate(tasks: list[Task], *, hold_out: str, lossy: bool) -> dict[str, Scores]:
    """Leave-one-`hold_out`-out ("model" or "hardware") scores of every selector."""
    index = 0 if hold_out == "model" else 3
    groups = sorted({t.key[index] for t in tasks})
    picks: dict[str, list[tuple[Task, str, list[str]]]] = {name: [] for name in TRAINERS}
    for group in groups:
        train = [t for t in tasks if t.key[index] != group]
        test = [t for t in tasks if t.key[index] == group]
        for name, trainer in TRAINERS.items():
            select = trainer(train, lossy)
            for task in test:
                allowed = allowed_options(task, lossy)
                picks[name].append((task, select(task, allowed), allowed))
    result = {name: _scores(p) for name, p in picks.items()}
    result["random"] = random_scores(tasks, lossy)
    return result
