"""askdocs served in this process for the pages' screenshots and figures (``scripts/screenshots``,
``scripts/ui-figures``): a fresh data dir, the worker thread beside the app (uvicorn on 127.0.0.1), the handbook
ingested through POST /ingest, a few questions asked and rated through the API. Holds no tests itself."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from tests.servers import serve

ROOT = Path(__file__).resolve().parent.parent.parent
QUESTIONS = [  # (question, rating, corrected answer)
    ("How many vacation days do I get?", "helpful", None),
    ("How long is parental leave?", "helpful", None),
    ("Can I work from another country?", "not_helpful", "Up to 20 working days a year, with prior approval."),
    ("What is the daily meal allowance on business trips?", None, None),
    ("Who approves my expense report?", None, None),
    ("What is the airspeed velocity of an unladen swallow?", None, None),
]


@dataclass(frozen=True)
class Demo:
    url: str
    admin: str  # the key "ops" (admin)
    staff: str  # the key "ada" (ask, group staff)


@contextmanager
def demo_service(data_dir: Path, *, llm_url: str | None = None) -> Iterator[Demo]:
    """The service on ``data_dir`` (its own SQLite store; evaluation reports from docs/eval), filled; with
    ``llm_url``, answers by that OpenAI-compatible endpoint (prompted), else extractive."""
    from app.main import create_app
    from askdocs.settings import Settings
    from cli.serve_cmd import service_container

    llm: dict[str, Any] = {"base_url": f"{llm_url}/v1", "api_key": "stand-in"} if llm_url else {}
    settings = Settings(  # type: ignore[call-arg]
        data_dir=data_dir,
        database={"url": f"sqlite:///{data_dir / 'askdocs.sqlite'}"},
        service={"reports_dir": str(ROOT / "docs" / "eval")},
        llm=llm,
        _env_file=None,
    )
    container = service_container(settings)
    try:
        keys = container.keys
        demo = Demo("", keys.create("ops", "admin")[1], keys.create("ada", "ask", ("staff",))[1])
        keys.create("slack-bot", "frontend")
        with serve(create_app(container)) as url:
            demo = Demo(url, demo.admin, demo.staff)
            fill(demo)
            yield demo
    finally:
        container.close()


def fill(demo: Demo) -> None:
    """The handbook through POST /ingest, a URL that fails (a job's error shows), questions and ratings."""
    files = [("files", (p.name, p.read_bytes())) for p in sorted((ROOT / "examples" / "handbook").iterdir())]
    admin = {"Authorization": f"Bearer {demo.admin}"}
    with httpx.Client(base_url=demo.url, timeout=300) as client:
        done = client.post("/ingest", files=files, params={"wait": 240}, headers=admin).json()
        assert not done["pending"] and not done["failed"], done
        client.post("/ingest", data={"urls": ["http://127.0.0.1:9/travel-policy"]}, params={"wait": 60}, headers=admin)
        staff = {"Authorization": f"Bearer {demo.staff}"}
        for question, rating, corrected in QUESTIONS:
            answer = client.post("/ask", json={"question": question, "mode": "extractive"}, headers=staff).json()
            if rating:
                body = {"interaction_id": answer["interaction_id"], "rating": rating, "corrected_answer": corrected}
                client.post("/feedback", json=body, headers=staff).raise_for_status()
