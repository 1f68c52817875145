"""Pure sharding rules: the seeded PRNG, coverage, span suggestion and route selection.

Route selection. A route is a chain of announced spans tiling [0, L): hop i serves its whole
span, hop i+1 starts where hop i ends. A job needs r routes and no operator may appear twice in
the job. Routes are built position by position (`_compute_joint_routes`): all q routes that are
at layer p draw their next hops together, q distinct operators among the unused operators' spans
starting at p, by systematic sampling with probabilities proportional to size
(`compute_systematic_sample`): each option is included with probability exactly
q x weight / total weight (capped at 1, the excess redistributed), so splitting one stake across
identities changes nobody's inclusion probability (README "Attacker math"). The weight is bonded
stake x bounded reputation (`compute_weight`). After each joint draw a max-flow check on the
layer graph (nodes = layer boundaries 0..L, one unit-capacity edge per remaining span) asks
whether the routes in progress can still be completed. When a joint draw leaves them stranded
(a layout with traps, or an operator with several spans), selection falls back to the
hop-by-hop search (`_RouteSearch`): one hop at a time, weighted, only among hops after which the
job stays completable, backtracking within max_search_steps. Draws use `Prng`, so the routes
are a function of the state and the seed.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence

from modules.sharding.errors import ErrInsufficientCoverage
from modules.sharding.types import Candidate


class Prng:
    """SHA-256 in counter mode: block i = SHA256(seed || u64_be(i)), i = 0, 1, ...; the byte
    stream is the concatenation of the blocks. Integers only, identical on every node."""

    def __init__(self, seed: bytes) -> None:
        self._seed = seed
        self._counter = 0
        self._buffer = b""

    def read(self, n: int) -> bytes:
        """The next ``n`` bytes of the stream."""
        while len(self._buffer) < n:
            block = hashlib.sha256(self._seed + self._counter.to_bytes(8, "big")).digest()
            self._buffer += block
            self._counter += 1
        out, self._buffer = self._buffer[:n], self._buffer[n:]
        return out

    def randbelow(self, n: int) -> int:
        """Uniform integer in [0, n) by rejection: read ceil(bits/8) bytes big-endian, keep the
        top ``bits`` bits (bits = n.bit_length()), retry while the value is >= n."""
        if n <= 0:
            raise ValueError("randbelow needs a positive bound")
        bits = n.bit_length()
        width = (bits + 7) // 8
        while True:
            value = int.from_bytes(self.read(width), "big") >> (8 * width - bits)
            if value < n:
                return value


SPEED_UNMEASURED = 500  # placement score of a worker with no measured commit yet (0..1000)


def compute_weight(stake: int, reputation: int, max_factor: int) -> int:
    """Selection weight of a hop: bonded uinfera x min(reputation, max_factor) micro-units.

    Linear in stake, so splitting one stake across identities leaves the summed weight
    unchanged; nothing the operator declares (throughput, hardware) enters. Reputation is
    at least 0.1 (workers module) and counts at most ``max_factor``."""
    return stake * min(reputation, max_factor)


def compute_weighted_pick(options: Sequence[Candidate], rng: Prng) -> Candidate:
    """One of ``options`` (in their given order) with probability weight / total weight."""
    point = rng.randbelow(sum(c.weight for c in options))
    for candidate in options:
        if point < candidate.weight:
            return candidate
        point -= candidate.weight
    raise AssertionError("unreachable: point is below the total weight")


def compute_inclusion(weights: Sequence[int], draws: int) -> tuple[list[bool], int, int]:
    """The inclusion rule of `compute_systematic_sample` for positive ``weights``:
    (certain, left, total). ``certain[i]``: option i is always included (its share of the draws
    would reach 1). Every other option is included with probability exactly
    ``left x weights[i] / total`` (< 1), ``left`` = draws - number certain, ``total`` = the
    summed weight of the options not certain. Found by the fixed point: mark every option with
    left x weight >= total certain, recompute, repeat (marking one only raises the others'
    ratio left / total, so the set only grows)."""
    if not 0 <= draws <= len(weights):
        raise ValueError(f"{draws} draws among {len(weights)} options")
    certain = [False] * len(weights)
    while True:
        left = draws - sum(certain)
        total = sum(w for w, sure in zip(weights, certain, strict=True) if not sure)
        if left == 0:
            return certain, 0, total
        new = [i for i, w in enumerate(weights) if not certain[i] and left * w >= total]
        if not new:
            return certain, left, total
        for i in new:
            certain[i] = True


def compute_systematic_sample(
    options: Sequence[Candidate], draws: int, rng: Prng
) -> list[Candidate]:
    """``draws`` distinct options (in their given order), option i included with probability
    exactly its `compute_inclusion` share, never twice. Systematic sampling: the options not
    certain are laid end to end in the given order on a line of length left x total, option i
    taking left x weight_i; with u = randbelow(total), the points u, u + total, ...,
    u + (left - 1) x total each select the option under them. An option's length is < total
    (else it would be certain), so it holds at most one point, and it holds one for exactly
    left x weight_i of the total values of u. Integers only."""
    if any(c.weight <= 0 for c in options):
        raise ValueError("systematic sampling needs positive weights")
    certain, left, total = compute_inclusion([c.weight for c in options], draws)
    chosen = list(certain)
    if left:
        point, end = rng.randbelow(total), 0
        for i, c in enumerate(options):
            if certain[i]:
                continue
            end += left * c.weight
            if point < end:
                chosen[i] = True
                point += total
    return [c for c, pick in zip(options, chosen, strict=True) if pick]


# -- coverage ----------------------------------------------------------------------------------


def compute_layer_coverage(
    num_layers: int, candidates: Sequence[Candidate]
) -> list[tuple[list[bytes], int]]:
    """Per layer: (operators serving it in address order, their summed speed scores)."""
    layers: list[tuple[list[bytes], int]] = [([], 0) for _ in range(num_layers)]
    for c in sorted(candidates, key=lambda c: (c.operator, c.start)):
        for layer in range(c.start, min(c.end, num_layers)):
            operators, throughput = layers[layer]
            if c.operator not in operators:
                operators.append(c.operator)
            layers[layer] = (operators, throughput + c.speed)
    return layers


def compute_suggested_span(
    layer_throughput: Sequence[int], span_length: int, throughput: int
) -> tuple[int, int, int]:
    """(start, end, new minimum) of the window of ``span_length`` layers that, once served at
    ``throughput``, leaves the highest minimum per-layer throughput. Ties: the window whose
    layers carry the least throughput now (the weakest region), then the lowest start."""
    n, length = len(layer_throughput), min(span_length, len(layer_throughput))
    ceiling = sum(layer_throughput) + throughput + 1  # above every possible minimum
    prefix_min, suffix_min = [ceiling] * (n + 1), [ceiling] * (n + 1)
    for i in range(n):
        prefix_min[i + 1] = min(prefix_min[i], layer_throughput[i])
        suffix_min[n - 1 - i] = min(suffix_min[n - i], layer_throughput[n - 1 - i])
    best: tuple[int, int, int] | None = None
    for start in range(n - length + 1):
        window = layer_throughput[start : start + length]
        new_min = min(min(window) + throughput, prefix_min[start], suffix_min[start + length])
        key = (-new_min, sum(window), start)
        best = key if best is None or key < best else best
    assert best is not None  # length >= 1 and length <= n, so there is at least one window
    return best[2], best[2] + length, -best[0]


# -- route selection ---------------------------------------------------------------------------


def is_completable(
    candidates: Sequence[Candidate],
    used: set[bytes],
    position: int,
    full_routes: int,
    num_layers: int,
) -> bool:
    """Whether spans of unused operators can still give one path from ``position`` to the last
    layer (when 0 < position < num_layers: a route in progress) plus ``full_routes`` paths from
    0, all edge-disjoint (max-flow on the layer graph)."""
    starts = {0: full_routes} if full_routes else {}
    if 0 < position < num_layers:
        starts[position] = starts.get(position, 0) + 1
    return is_completable_from(candidates, used, starts, num_layers)


def is_completable_from(
    candidates: Sequence[Candidate], used: set[bytes], starts: dict[int, int], num_layers: int
) -> bool:
    """Whether spans of unused operators can give ``starts[p]`` paths from each layer p to the
    last layer, all edge-disjoint (max-flow on the layer graph)."""
    need = sum(starts.values())
    if need == 0:
        return True
    source, sink = num_layers + 1, num_layers
    graph = _FlowGraph(num_layers + 2)
    for position in sorted(starts):
        graph.add_edge(source, position, starts[position])
    for c in candidates:
        if c.operator not in used:
            graph.add_edge(c.start, c.end, 1)
    return graph.max_flow(source, sink, need) >= need


def compute_routes(
    candidates: Sequence[Candidate],
    num_layers: int,
    redundancy: int,
    rng: Prng,
    max_steps: int,
    charge: Callable[[int], None] = lambda examined: None,
) -> list[tuple[Candidate, ...]]:
    """``redundancy`` routes tiling [0, num_layers), no operator twice (module docstring);
    raises ErrInsufficientCoverage when there are none or the search exceeds ``max_steps``.
    ``charge(n)`` is called before each max-flow with the n candidates it examines (gas)."""
    ordered = sorted(candidates, key=lambda c: (c.start, c.operator, c.end))
    charge(len(ordered))
    if not is_completable(ordered, set(), 0, redundancy, num_layers):
        raise ErrInsufficientCoverage(f"{redundancy} disjoint routes over {num_layers} layers")
    joint, steps = _compute_joint_routes(ordered, num_layers, redundancy, rng, max_steps, charge)
    if joint is not None:
        return joint
    search = _RouteSearch(ordered, num_layers, redundancy)  # the fallback, same PRNG stream
    for _ in range(max_steps - steps):
        charge(len(ordered))
        if search.step(rng):
            return search.routes()
    raise ErrInsufficientCoverage(f"no routes found within {max_steps} search steps")


def compute_served_routes(
    candidates: Sequence[Candidate],
    served: tuple[int, int],
    redundancy: int,
    rng: Prng,
    max_steps: int,
    charge: Callable[[int], None] = lambda examined: None,
) -> list[tuple[Candidate, ...]]:
    """``redundancy`` routes tiling only the served layers [start, end) of a split job (the
    client runs the rest, docs/split-jobs.md): the spans lying inside the window, shifted to
    start at 0, go through `compute_routes` (same rules, PRNG stream and errors), and come
    back shifted. Spans crossing the window's edges are never chosen."""
    start, end = served
    if not 0 <= start < end:
        raise ErrInsufficientCoverage(f"no served layers in [{start}, {end})")
    inside = [
        Candidate(c.operator, c.start - start, c.end - start, c.weight, c.speed)
        for c in candidates
        if start <= c.start and c.end <= end
    ]
    routes = compute_routes(inside, end - start, redundancy, rng, max_steps, charge)
    return [
        tuple(Candidate(h.operator, h.start + start, h.end + start, h.weight, h.speed) for h in r)
        for r in routes
    ]


def _compute_joint_routes(
    ordered: list[Candidate],
    num_layers: int,
    redundancy: int,
    rng: Prng,
    max_steps: int,
    charge: Callable[[int], None],
) -> tuple[list[tuple[Candidate, ...]] | None, int]:
    """(routes or None, search steps used). Position by position, lowest first: the q routes at
    layer p draw q hops together by `compute_systematic_sample` among the unused operators'
    spans starting at p (one per operator: its first in (start, operator, end) order), laid
    out in the order of sha256(salt || operator), the salt the first 32 bytes of the PRNG
    stream (a seeded random order: no operator can place itself on the line). Hops go to the
    routes in route order. Each draw is one step and one flow check; None when a draw leaves
    the job uncompletable or the steps run out (the caller falls back to `_RouteSearch`)."""
    salt = rng.read(32)
    routes: list[list[Candidate]] = [[] for _ in range(redundancy)]
    position = [0] * redundancy
    used: set[bytes] = set()
    steps = 0
    while True:
        open_routes = [i for i in range(redundancy) if position[i] < num_layers]
        if not open_routes:
            return [tuple(r) for r in routes], steps
        if steps >= max_steps:
            return None, steps
        layer = min(position[i] for i in open_routes)
        group = [i for i in open_routes if position[i] == layer]
        options: dict[bytes, Candidate] = {}
        for c in ordered:
            if c.start != layer or c.operator in used or c.operator in options:
                continue
            if c.weight > 0:  # never the case for active workers; a zero weight is never drawn
                options[c.operator] = c
        if len(options) < len(group):
            return None, steps
        line = sorted(options.values(), key=lambda c: hashlib.sha256(salt + c.operator).digest())
        picks = compute_systematic_sample(line, len(group), rng)
        for i, hop in zip(group, picks, strict=True):
            routes[i].append(hop)
            position[i] = hop.end
            used.add(hop.operator)
        steps += 1
        starts: dict[int, int] = {}
        for i in range(redundancy):
            if position[i] < num_layers:
                starts[position[i]] = starts.get(position[i], 0) + 1
        charge(len(ordered))
        if not is_completable_from(ordered, used, starts, num_layers):
            return None, steps


class _RouteSearch:
    """Depth-first search over hop draws; ``untried[i]`` are the options not yet drawn at
    depth i (one more entry than hops chosen)."""

    def __init__(self, ordered: list[Candidate], num_layers: int, redundancy: int) -> None:
        self.ordered, self.num_layers, self.redundancy = ordered, num_layers, redundancy
        self.chosen: list[Candidate] = []
        self.used: set[bytes] = set()
        self.done = 0  # routes completed
        self.untried = [self._options()]

    def _position(self) -> int:
        if not self.chosen or self.chosen[-1].end == self.num_layers:
            return 0
        return self.chosen[-1].end

    def _options(self) -> list[Candidate]:
        position = self._position()
        return [c for c in self.ordered if c.start == position and c.operator not in self.used]

    def step(self, rng: Prng) -> bool:
        """Draw one hop (or backtrack once); True when every route is built."""
        if not self.untried[-1]:
            self._backtrack()
            return False
        pick = compute_weighted_pick(self.untried[-1], rng)
        self.untried[-1].remove(pick)
        done = self.done + (1 if pick.end == self.num_layers else 0)
        position = 0 if pick.end == self.num_layers else pick.end
        in_progress = 1 if position else 0
        remaining = self.redundancy - done - in_progress
        if not is_completable(
            self.ordered, self.used | {pick.operator}, position, remaining, self.num_layers
        ):
            return False
        self.chosen.append(pick)
        self.used.add(pick.operator)
        self.done = done
        if self.done == self.redundancy:
            return True
        self.untried.append(self._options())
        return False

    def _backtrack(self) -> None:
        self.untried.pop()
        if not self.chosen:
            raise ErrInsufficientCoverage("every choice of routes was tried")
        undone = self.chosen.pop()
        self.used.discard(undone.operator)
        self.done -= 1 if undone.end == self.num_layers else 0

    def routes(self) -> list[tuple[Candidate, ...]]:
        out: list[tuple[Candidate, ...]] = []
        current: list[Candidate] = []
        for hop in self.chosen:
            current.append(hop)
            if hop.end == self.num_layers:
                out.append(tuple(current))
                current = []
        return out


class _FlowGraph:
    """A tiny max-flow (augmenting paths by breadth-first search) over integer capacities."""

    def __init__(self, nodes: int) -> None:
        self.adjacent: list[list[int]] = [[] for _ in range(nodes)]
        self.head: list[int] = []  # edge e goes to head[e]; e ^ 1 is its reverse
        self.capacity: list[int] = []

    def add_edge(self, tail: int, head: int, capacity: int) -> None:
        self.adjacent[tail].append(len(self.head))
        self.head.append(head)
        self.capacity.append(capacity)
        self.adjacent[head].append(len(self.head))
        self.head.append(tail)
        self.capacity.append(0)

    def max_flow(self, source: int, sink: int, limit: int) -> int:
        """Flow from ``source`` to ``sink``, stopping once it reaches ``limit``."""
        flow = 0
        head, capacity = self.head, self.capacity
        while flow < limit:
            parent_edge = self._augmenting_path(source, sink)
            if parent_edge is None:
                break
            path, node = [], sink
            while node != source:
                edge = parent_edge[node]
                path.append(edge)
                node = head[edge ^ 1]
            push = min(min(capacity[e] for e in path), limit - flow)
            for edge in path:
                capacity[edge] -= push
                capacity[edge ^ 1] += push
            flow += push
        return flow

    def _augmenting_path(self, source: int, sink: int) -> list[int] | None:
        """Parent edge per node of a shortest residual path (breadth first, edges in insertion
        order), or None; -1 marks a node not reached."""
        adjacent, head, capacity = self.adjacent, self.head, self.capacity
        parent_edge = [-1] * len(adjacent)
        parent_edge[source] = -2  # reached, no parent
        frontier = [source]
        while frontier:
            following = []
            for node in frontier:
                for edge in adjacent[node]:
                    target = head[edge]
                    if parent_edge[target] == -1 and capacity[edge] > 0:
                        parent_edge[target] = edge
                        if target == sink:
                            return parent_edge
                        following.append(target)
            frontier = following
        return None
