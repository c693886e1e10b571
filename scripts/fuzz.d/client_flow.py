"""A whole partner flow through a Python client generated from mingle's OpenAPI document
(openapi-python-client): event, context, session, import, enrichment, match, and every
read, with the generated typed models and enums; then one error answer read as the
typed ErrorBody. Run by scripts/fuzz against its server:

    python3 client_flow.py <generated client dir> <base url> <token>

Exits non-zero (an AssertionError) on the first thing that is not as documented.
"""
import datetime
import sys
import time
import typing

sys.path.insert(0, sys.argv[1])

from mingle_client import AuthenticatedClient  # noqa: E402
from mingle_client.api.attendees import get_identity, import_attendees, list_attendees  # noqa: E402
from mingle_client.api.enrichment import create_enrichment_run  # noqa: E402
from mingle_client.api.events import create_event, get_context, get_event, list_events, update_context  # noqa: E402
from mingle_client.api.id_resolution import get_id_map  # noqa: E402
from mingle_client.api.matching import create_match_run, get_match, list_attendee_matches, list_event_matches  # noqa: E402
from mingle_client.api.review_queue import list_event_reviews, resolve_review  # noqa: E402
from mingle_client.api.runs import get_run, list_runs  # noqa: E402
from mingle_client.api.service_account import get_auth  # noqa: E402
from mingle_client.api.sessions import create_session, get_session, list_sessions  # noqa: E402
from mingle_client.models import (  # noqa: E402
    AuthResponse, ContextResponse, CreateEventRequest, CreateSessionRequest, DecisionItem,
    EnrichmentRequest, ErrorBody, EventMatchPage, EventResponse, IdentityPage, ImportRequest, ImportRow,
    MatchItem, MatchResponse, MatchRunRequest, RawData, ResolveRequest, ResolveResponse, ReviewPage,
    RunPage, RunResponse, SessionPage, SessionResponse,
)
from mingle_client.models.decision_kind import DecisionKind  # noqa: E402
from mingle_client.models.goal_direction import GoalDirection  # noqa: E402
from mingle_client.models.run_status import RunStatus  # noqa: E402

base, token = sys.argv[2], sys.argv[3]
client = AuthenticatedClient(base_url=base, token=token, raise_on_unexpected_status=True,
                             timeout=__import__("httpx").Timeout(60.0))
suffix = str(int(time.time() * 1000))
event_id = f"client-flow-{suffix}"


def expect(value, cls):
    assert isinstance(value, cls), f"expected {cls.__name__}, got {value!r}"
    return value


def finished(run: RunResponse) -> RunResponse:
    for _ in range(1200):
        run = expect(get_run.sync(run.run_id, client=client), RunResponse)
        if run.status not in ("queued", "running"):
            return run
        time.sleep(0.1)
    raise AssertionError(f"run {run.run_id} did not finish")


auth = expect(get_auth.sync(client=client), AuthResponse)
assert auth.principal_type == "service_account" and "partner:write" in auth.scopes

event = expect(create_event.sync(client=client, body=CreateEventRequest(
    event_id=event_id, title="Client Flow Summit", start_date=datetime.date(2026, 9, 10),
    end_date=datetime.date(2026, 9, 11), timezone="America/New_York")), EventResponse)
assert event.event_id == event_id and event.start_date == datetime.date(2026, 9, 10)
assert isinstance(event.created_at, datetime.datetime)
# The context body is a partial update needing one of three keys (an anyOf), which the
# generator leaves as a plain dict.
context = expect(update_context.sync(event_id, client=client, body={
    "objectives": "Founders meet investors; engineers meet hiring managers."}), ContextResponse)
assert context.context.objectives.startswith("Founders")
expect(get_context.sync(event_id, client=client), ContextResponse)
expect(get_event.sync(event_id, client=client), EventResponse)
assert any(e.event_id == event_id for e in list_events.sync(client=client, limit=100).items)

session = expect(create_session.sync(event_id, client=client, body=CreateSessionRequest(
    session_id=f"keynote-{suffix}", title="Opening Keynote",
    start_timestamp=datetime.datetime(2026, 9, 10, 13, tzinfo=datetime.timezone.utc))), SessionResponse)
expect(get_session.sync(event_id, session.session_id, client=client), SessionResponse)
assert [s.session_id for s in expect(list_sessions.sync(event_id, client=client), SessionPage).items] == [session.session_id]

people = [
    ("founder", "Ada Founder", "fundraising", ["seed investment for our climate startup"], ["product demos"]),
    ("investor", "Ben Investor", "investing", ["climate startups raising a seed round"], ["seed investment"]),
    ("engineer", "Cy Engineer", "hiring", ["a senior backend engineer"], ["Rust consulting"]),
    ("recruiter", "Di Recruiter", "job search", ["a backend engineering role"], ["interview coaching"]),
]
rows = [ImportRow(attendee_id=f"{key}-{suffix}", name=name, email=f"{key}-{suffix}@example.com",
                  raw_data=RawData(goal=goal, needs=needs, offers=offers, sessions=[session.session_id]))
        for key, name, goal, needs, offers in people]
# The same email under another name: a review to resolve.
rows.append(ImportRow(attendee_id=f"dupe-{suffix}", name="Someone Else", email=f"founder-{suffix}@example.com"))
run = expect(import_attendees.sync(event_id, client=client, body=ImportRequest(
    idempotency_key=f"import-{suffix}", attendees=rows)), RunResponse)
assert run.kind == "import" and run.status in typing.get_args(RunStatus)
run = finished(run)
assert run.status == "succeeded" and run.progress.total == 5, run
attendees = list_attendees.sync(event_id, client=client).items
assert len(attendees) == 5

history = expect(get_identity.sync(event_id, f"founder-{suffix}", client=client), IdentityPage)
assert all(isinstance(d, DecisionItem) and d.kind in typing.get_args(DecisionKind) for d in history.items)
assert get_id_map.sync("attendee", f"founder-{suffix}", client=client).mapped is True

reviews = expect(list_event_reviews.sync(event_id, client=client), ReviewPage).items
assert len(reviews) == 1 and reviews[0].status == "open"
resolved = expect(resolve_review.sync(reviews[0].review_id, client=client,
                                      body=ResolveRequest(decision="distinct")), ResolveResponse)
assert resolved.decision == "distinct"

enrichment = finished(expect(create_enrichment_run.sync(event_id, client=client, body=EnrichmentRequest(
    idempotency_key=f"enrich-{suffix}")), RunResponse))
assert enrichment.status == "succeeded", enrichment
match_run = finished(expect(create_match_run.sync(event_id, client=client, body=MatchRunRequest(
    idempotency_key=f"match-{suffix}", top_n=3)), RunResponse))
assert match_run.status == "succeeded" and match_run.progress.matches_written > 0, match_run

page = expect(list_event_matches.sync(event_id, client=client), EventMatchPage)
assert page.items and all(isinstance(m, MatchItem) for m in page.items)
best = page.items[0]
assert 0 <= best.final_score <= 1 and best.best_goal_match.direction in typing.get_args(GoalDirection)
pair = expect(get_match.sync(event_id, best.principal_attendee_id, best.target_attendee_id, client=client), MatchResponse)
assert pair.final_score == best.final_score
mine = list_attendee_matches.sync(event_id, best.principal_attendee_id, client=client)
assert best.target_attendee_id in [m.target_attendee_id for m in mine.items]
runs = expect(list_runs.sync(client=client, kind="match"), RunPage)
assert match_run.run_id in [r.run_id for r in runs.items]

missing = expect(get_event.sync(f"nope-{suffix}", client=client), ErrorBody)
assert missing.code == "EVENT_NOT_FOUND" and missing.correlation_id
print(f"client flow: {len(attendees)} attendees, {len(page.items)} matches listed, best "
      f"{best.principal_attendee_id} -> {best.target_attendee_id} ({best.final_score:.3f}); every answer typed")
