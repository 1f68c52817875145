"""Server-rendered HTML of the explorer pages. Every chain string goes through ``e`` (HTML-escaped,
quotes included) before it reaches the page: model ids, monikers, endpoints, prompts, reasons.

The markup carries ``data-*`` attributes with the live figures (``data-height``,
``data-layer``/``data-workers`` per coverage cell, ``data-job``, ``data-worker``) so a test (or a
script) reads them from the DOM without parsing text.
"""

from __future__ import annotations

import base64
import html
from collections.abc import Iterable
from typing import Any

from chain.explorer.data import JobView, ModelView, Overview, ValidatorView, WorkerView, state_name
from infera.agreement.v1 import types_pb2 as agreement_types

PROMPT_PREVIEW = 60  # characters of a prompt shown on the overview


def e(value: object) -> str:
    """``value`` as HTML text (``&``, ``<``, ``>``, quotes escaped)."""
    return html.escape(str(value), quote=True)


def page(title: str, body: str, refresh_s: int) -> str:
    refresh = f'<meta http-equiv="refresh" content="{int(refresh_s)}">' if refresh_s > 0 else ""
    return (
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
        f"{refresh}<title>{e(title)}</title>"
        '<link rel="stylesheet" href="/explorer/static/explorer.css"></head>'
        f'<body><header><a href="/explorer">Infera explorer</a></header><main>{body}</main>'
        "</body></html>"
    )


def table(headers: Iterable[str], rows: Iterable[str], css: str = "") -> str:
    head = "".join(f"<th>{e(h)}</th>" for h in headers)
    body = "".join(rows) or f'<tr><td colspan="{len(list(headers))}">none</td></tr>'
    return f'<table class="{e(css)}"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>'


def decimal_micro(value: int) -> str:
    """Micro-units (1_000_000 = 1.0) as a decimal string, integers only."""
    return f"{value // 1_000_000}.{value % 1_000_000:06d}"


def short_hex(data: bytes) -> str:
    return data.hex()[:16] if data else ""


def render_overview(view: Overview, refresh_s: int) -> str:
    body = (
        f'<section id="chain"><h1>{e(view.chain_id)}</h1>'
        f'<p>height <b id="height" data-height="{view.height}">{view.height}</b>'
        f" · block time {e(view.block_time)} · refreshes every {int(refresh_s)} s</p></section>"
        + validators_section(view.validators)
        + models_section(view.models, view.workers)
        + workers_section(view.workers, view.height)
        + jobs_section(view.jobs)
        + verifications_section(view.open_verifications)
    )
    return page(f"Infera {view.chain_id} at {view.height}", body, refresh_s)


def validators_section(validators: list[ValidatorView]) -> str:
    rows = (
        f'<tr data-validator="{e(v.operator)}"><td>{e(v.moniker)}</td><td class="addr">{e(v.operator)}</td>'
        f'<td class="addr">{e(v.consensus_address)}</td><td>{v.voting_power}</td>'
        f"<td>{e(v.tokens)}</td><td>{'jailed' if v.jailed else 'active'}</td></tr>"
        for v in validators
    )  # fmt: skip
    headers = ["moniker", "operator", "consensus address", "voting power", "tokens", "status"]
    return f'<section id="validators"><h2>Validators ({len(validators)})</h2>{table(headers, rows)}</section>'


def models_section(models: list[ModelView], workers: list[WorkerView]) -> str:
    parts = [model_block(m, workers) for m in models]
    return f'<section id="models"><h2>Models ({len(models)})</h2>{"".join(parts) or "<p>none</p>"}</section>'


def model_block(view: ModelView, workers: list[WorkerView]) -> str:
    m, cov = view.model, view.coverage
    layers = list(cov.layers) if cov is not None else []
    summary = (
        f"{m.num_layers} layers · {e(m.family)} · {e(m.dtype)} · price {e(m.price_per_token)}/token"
        f" · redundancy {m.min_redundancy}"
        + (f" · {'fully covered' if cov.fully_covered else 'NOT fully covered'} · min throughput {cov.min_throughput}" if cov else " · coverage unavailable")
        + (" · retired" if m.retired else "")
    )  # fmt: skip
    cells = "".join(coverage_cell(layer) for layer in layers)
    width = f"grid-template-columns: repeat({max(1, len(layers))}, 1fr)"
    bar = f'<div class="bar" style="{width}" data-model="{e(m.id)}">{cells}</div>'
    rows = "".join(
        span_row(w, m.id, int(m.num_layers))
        for w in workers
        if any(s.model_id == m.id for s in w.worker.spans)
    )
    return (
        f'<article class="model" data-model="{e(m.id)}"><h3>{e(m.id)}</h3><p>{summary}</p>'
        f'<div class="coverage">{bar}<div class="spans">{rows}</div></div></article>'
    )  # fmt: skip


def coverage_cell(layer: Any) -> str:
    count = len(layer.workers)
    level = "cov-0" if count == 0 else "cov-1" if count == 1 else "cov-2"
    title = f"layer {layer.layer}: {count} workers, throughput {layer.throughput}: " + ", ".join(
        layer.workers
    )
    return (
        f'<span class="layer {level}" data-layer="{layer.layer}" data-workers="{count}" '
        f'data-throughput="{layer.throughput}" title="{e(title)}">{layer.layer}<small>×{count} · {layer.throughput}</small></span>'
    )  # fmt: skip


def span_row(view: WorkerView, model_id: str, num_layers: int) -> str:
    served: set[int] = set()
    for span in view.worker.spans:
        if span.model_id == model_id:
            served.update(range(int(span.start), int(span.end)))
    cells = "".join(
        f'<span class="{"on" if i in served else "off"}"></span>' for i in range(num_layers)
    )
    width = f"grid-template-columns: repeat({max(1, num_layers)}, 1fr)"
    return (
        f'<div class="span-row" data-worker="{e(view.worker.operator)}"><span class="addr">'
        f'{e(view.worker.operator)}</span><div class="cells" style="{width}">{cells}</div></div>'
    )  # fmt: skip


def workers_section(workers: list[WorkerView], height: int) -> str:
    headers = ["operator", "endpoint", "spans", "declared throughput", "measured speed",
               "stake", "reputation", "last heartbeat", "status", "attestation"]  # fmt: skip
    rows = (worker_row(w, height) for w in workers)
    return (
        f'<section id="workers"><h2>Workers ({len(workers)})</h2>{table(headers, rows)}</section>'
    )


def worker_row(view: WorkerView, height: int) -> str:
    w = view.worker
    spans = ", ".join(f"{s.model_id}[{s.start},{s.end})" for s in w.spans)
    speed = f"{w.speed}/1000 ({w.speed_samples} commits)" if w.speed_samples else "not measured"
    ago = height - int(w.last_heartbeat_height)
    status = ("active" if view.active else "inactive") + f" · {e(state_of_worker(w.status))}"
    return (
        f'<tr data-worker="{e(w.operator)}"><td class="addr">{e(w.operator)}</td><td>{e(w.endpoint)}</td>'
        f"<td>{e(spans)}</td><td>{w.hardware.throughput}</td><td>{e(speed)}</td><td>{e(view.stake)}</td>"
        f"<td>{decimal_micro(view.reputation)}</td><td>{w.last_heartbeat_height} ({ago} blocks ago)</td>"
        f"<td>{status}</td><td>{e(view.attestation)}</td></tr>"
    )  # fmt: skip


def state_of_worker(status: int) -> str:
    from infera.workers.v1 import types_pb2 as workers_types

    try:
        return workers_types.WorkerStatus.Name(status).removeprefix("WORKER_STATUS_").lower()
    except ValueError:
        return str(status)


def routes_text(job: Any) -> str:
    routes = []
    for index, route in enumerate(job.routes):
        hops = " → ".join(
            f'<span class="addr">{e(h.worker)}</span>[{h.layer_start},{h.layer_end})'
            for h in route.hops
        )
        routes.append(f"<div>route {index}: {hops}</div>")
    return "".join(routes) or "not assigned"


def timings_text(job: Any) -> str:
    parts = [("submitted", job.submit_height), ("assigned", job.assign_height),
             ("commit end", job.commit_end_height), ("reveal end", job.reveal_end_height),
             ("final", job.final_height), ("deadline", job.deadline_height)]  # fmt: skip
    text = " · ".join(f"{name} {int(h)}" for name, h in parts if int(h))
    if int(job.final_height):
        text += f" · took {int(job.final_height) - int(job.submit_height)} blocks"
    return text


def agreement_text(view: JobView) -> str:
    h = view.history
    if h is None:
        return ""
    hops = sum(len(r.hops) for r in view.job.routes)
    text = f"commits {len(h.commitments)}/{hops} · reveals {len(h.reveals)}/{hops} · outputs {len(h.outputs)}"
    if h.HasField("settlement"):
        text += f" · {agreement_types.Outcome.Name(h.settlement.outcome).removeprefix('OUTCOME_')}"
    if h.HasField("dispute"):
        text += " · dispute " + ("resolved" if h.dispute.resolved else "open")
    if h.HasField("audit"):
        text += " · audit " + audit_verdict(h.audit)
    return text


def audit_verdict(audit: Any) -> str:
    if not audit.decided:
        return f"open until {audit.deadline_height}"
    return "FAILED" if audit.failed else "passed"


def prompt_preview(prompt: bytes) -> str:
    text = prompt.decode("utf-8", "replace")
    return text[:PROMPT_PREVIEW] + ("…" if len(text) > PROMPT_PREVIEW else "")


def jobs_section(jobs: list[JobView]) -> str:
    headers = ["job", "model", "state", "prompt", "routes", "timings (heights)", "agreement"]
    rows = (
        f'<tr data-job="{v.job.id}" data-state="{e(state_name(v.job.state))}">'
        f'<td><a href="/explorer/job/{v.job.id}">{v.job.id}</a></td><td>{e(v.job.model_id)}</td>'
        f"<td>{e(state_name(v.job.state))}{' · ' + e(v.job.reason) if v.job.reason else ''}</td>"
        f'<td class="prompt">{e(prompt_preview(bytes(v.job.prompt)))}</td><td>{routes_text(v.job)}</td>'
        f"<td>{timings_text(v.job)}</td><td>{agreement_text(v)}</td></tr>"
        for v in jobs
    )  # fmt: skip
    return f'<section id="jobs"><h2>Recent jobs ({len(jobs)})</h2>{table(headers, rows)}</section>'


def verifications_section(views: list[JobView]) -> str:
    headers = ["job", "kind", "opened", "deadline", "votes", "verdict"]
    rows = (verification_row(v) for v in views)
    return (
        f'<section id="verifications"><h2>Open disputes and audits ({len(views)})</h2>'
        f"{table(headers, rows)}</section>"
    )


def verification_row(view: JobView) -> str:
    h = view.history
    kind, opened, deadline, verdict = "", 0, 0, ""
    if h is not None and h.HasField("dispute"):
        kind, opened = "dispute", int(h.dispute.opened_height)
        deadline = int(view.job.deadline_height)
        verdict = (
            "resolved: " + short_hex(bytes(h.dispute.winning_output_hash))
            if h.dispute.resolved
            else "pending"
        )
    elif h is not None and h.HasField("audit"):
        kind, opened, deadline = "audit", int(h.audit.opened_height), int(h.audit.deadline_height)
        verdict = audit_verdict(h.audit)
    votes = len(h.votes) if h is not None else 0
    return (
        f'<tr data-verification="{view.job.id}"><td><a href="/explorer/job/{view.job.id}">{view.job.id}</a></td>'
        f"<td>{kind}</td><td>{opened}</td><td>{deadline}</td><td>{votes}</td><td>{e(verdict)}</td></tr>"
    )  # fmt: skip


def render_job(view: JobView, proof_key: bytes, height: int, refresh_s: int) -> str:
    job, h = view.job, view.history
    key64 = base64.urlsafe_b64encode(proof_key).decode()
    body = (
        f'<section id="job" data-job="{job.id}"><h1>Job {job.id}</h1>'
        f"<p>model {e(job.model_id)} · state <b>{e(state_name(job.state))}</b>"
        f"{' · ' + e(job.reason) if job.reason else ''} · submitter "
        f'<span class="addr">{e(job.submitter)}</span> · max fee {e(job.max_fee)} · '
        f"precision {e(job.precision) or 'any'} · redundancy {job.redundancy}</p>"
        f'<p class="prompt">prompt: {e(bytes(job.prompt).decode("utf-8", "replace"))}</p>'
        f"<p>{timings_text(job)}</p><h2>Routes</h2>{routes_text(job)}"
        f'<h2>State proof</h2><p id="proof">The job record is the state key <code>{proof_key.hex()}</code>. '
        f'<a href="/infera/store/v1/proven?key={key64}">Value and Merkle proof</a> (JSON, against the '
        f"app hash signed in the header of the next block); check it with a light client: "
        f"<code>infera query store hex:{proof_key.hex()} --prove --node RPC --grpc GRPC</code>. "
        f"Read at height {height}.</p>"
        + (history_sections(h) if h is not None else "")
        + "</section>"
    )  # fmt: skip
    return page(f"Infera job {job.id}", body, refresh_s)


def history_sections(h: Any) -> str:
    commits = (f"<tr><td>{c.route_index}</td><td>{c.hop_index}</td><td class=\"addr\">{e(c.worker)}</td>"
               f"<td>{short_hex(bytes(c.commitment))}</td><td>{c.height}</td></tr>" for c in h.commitments)  # fmt: skip
    reveals = (f"<tr><td>{r.route_index}</td><td>{r.hop_index}</td><td class=\"addr\">{e(r.worker)}</td>"
               f"<td>{short_hex(bytes(r.output_hash))}</td><td>{r.height}</td></tr>" for r in h.reveals)  # fmt: skip
    outputs = (f"<tr><td>{short_hex(bytes(o.output_hash))}</td><td>{len(o.tokens)}</td>"
               f"<td>{o.billable_tokens}</td></tr>" for o in h.outputs)  # fmt: skip
    votes = (f"<tr><td class=\"addr\">{e(v.validator)}</td><td>{v.power}</td><td>{v.height}</td>"
             f"<td>{e(', '.join(short_hex(bytes(p)) for p in v.passing_output_hashes)) or 'none'}</td>"
             f"<td>{e(', '.join(f'route {c.route_index} hop {c.hop_index}' for c in v.culprits)) or 'none'}</td></tr>"
             for v in h.votes)  # fmt: skip
    out = (
        "<h2>Agreement history</h2><h3>Commitments</h3>"
        + table(["route", "hop", "worker", "commitment", "height"], commits, "commitments")
        + "<h3>Reveals</h3>" + table(["route", "hop", "worker", "output hash", "height"], reveals, "reveals")
        + "<h3>Outputs</h3>" + table(["output hash", "tokens", "billable"], outputs, "outputs")
        + "<h3>Verdicts</h3>" + table(["validator", "power", "height", "passing outputs", "culprits"], votes, "votes")
    )  # fmt: skip
    if h.HasField("dispute"):
        d = h.dispute
        out += (f"<p>dispute opened at {d.opened_height}: "
                + ("resolved at " + str(d.resolved_height) + " for " + short_hex(bytes(d.winning_output_hash)) if d.resolved else "open")
                + "</p>")  # fmt: skip
    if h.HasField("audit"):
        a = h.audit
        hold = agreement_types.HoldStatus.Name(a.hold_status).removeprefix("HOLD_STATUS_").lower()
        out += (f"<p>audit opened at {a.opened_height}, deadline {a.deadline_height}: {audit_verdict(a)}"
                f"{' (diverged routes)' if a.diverged else ''} · held {e(a.held_amount)} {e(a.denom)} · {hold}</p>")  # fmt: skip
    if h.HasField("settlement"):
        out += settlement_section(h.settlement)
    return out


def payout_kind(p: Any) -> str:
    if p.verifier:
        return "verifier"
    if not p.layers:
        return "protocol share"
    return f"route {p.route_index} hop {p.hop_index} ({p.layers} layers)"


def settlement_section(s: Any) -> str:
    payouts = (f"<tr><td class=\"addr\">{e(p.recipient)}</td><td>{e(p.amount)}</td>"
               f"<td>{payout_kind(p)}</td></tr>" for p in s.payouts)  # fmt: skip
    penalties = (f"<tr><td class=\"addr\">{e(p.worker)}</td><td>{e(p.slashed)}</td><td>{e(p.reason)}</td></tr>"
                 for p in s.penalties)  # fmt: skip
    outcome = agreement_types.Outcome.Name(s.outcome).removeprefix("OUTCOME_")
    return (
        f'<h2>Settlement</h2><p id="settlement">{outcome} at height {s.height} · charge {e(s.charge)} · '
        f"winning output {short_hex(bytes(s.winning_output_hash)) or 'none'}</p>"
        + table(["recipient", "amount", "for"], payouts, "payouts")
        + table(["worker", "slashed", "reason"], penalties, "penalties")
    )


def render_error(title: str, message: str, status: int) -> str:
    return page(
        title,
        f'<section><h1>{e(title)}</h1><p class="error" data-status="{status}">{e(message)}</p></section>',
        0,
    )
