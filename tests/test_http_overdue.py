"""The server grades attempts left past their time limit, without a request."""

from __future__ import annotations

import datetime as dt
import time
import uuid

import httpx
from sqlalchemy import Engine, update
from test_http import serving
from test_http_learner import COURSE, FINAL, codes, learner  # noqa: F401 (fixture)

from lms_core.config import Project
from lms_core.db import session_factory
from lms_core.http import create_app
from lms_core.models import Attempt, utcnow


def test_overdue_attempt_is_graded_by_the_server(
    project: Project,
    engine: Engine,
    codes: dict[str, str],  # noqa: F811 (the fixture imported above)
) -> None:
    with serving(create_app(project, engine=engine, overdue_every=0.05)) as url:
        client: httpx.Client = learner(url, codes, "NB001")
        attempt_id = str(uuid.uuid4())
        r = client.post(
            "/api/my/attempts/start",
            json={"course": COURSE, "exercise": FINAL, "attempt_id": attempt_id},
        )
        assert r.status_code == 200, r.text
        with session_factory(engine).begin() as s:
            s.execute(
                update(Attempt)
                .where(Attempt.uuid == attempt_id)
                .values(deadline_at=utcnow() - dt.timedelta(hours=1))
            )
        state = "in_progress"
        for _ in range(400):  # waits for the sweep; asserts nothing about time
            with session_factory(engine)() as s:
                state = s.query(Attempt.state).filter(Attempt.uuid == attempt_id).scalar()
            if state != "in_progress":
                break
            time.sleep(0.05)
        assert state == "graded"
        again = client.post("/api/my/attempts/submit", json={"attempt_id": attempt_id})
        # the learner's own submit afterwards returns that same result: graded once, late
        assert again.status_code == 200
        assert again.json()["state"] == "graded" and again.json()["late"] is True
        client.close()
