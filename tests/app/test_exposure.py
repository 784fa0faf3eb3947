"""What the security tests on main leave out: the document list names restricted documents, and upload types."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from tests.app.test_security import bearer, client, keys, restricted_dir  # noqa: F401 - fixtures

pytestmark = pytest.mark.store  # every test here builds the service, which opens the store


def test_the_document_list_is_for_admins_once_callers_have_keys(client: TestClient, keys: dict[str, str]) -> None:  # noqa: F811
    for who in ("ask", "hr", "frontend"):
        refused = client.get("/documents", headers=bearer(keys[who]))
        assert refused.status_code == 403 and "needs an admin key" in refused.json()["detail"], who
    listed = client.get("/documents", headers=bearer(keys["admin"]))
    assert listed.status_code == 200 and len(listed.json()) > 1


def test_uploads_of_a_type_askdocs_does_not_read_are_refused(client: TestClient, keys: dict[str, str]) -> None:  # noqa: F811
    admin = bearer(keys["admin"])
    exe = client.post(
        "/ingest", files={"files": ("tool.exe", b"MZ\x90\x00", "application/octet-stream")}, headers=admin
    )
    assert exe.status_code == 415 and "tool.exe: not a file type askdocs reads" in exe.json()["detail"]
    page = b"<html><head><title>Notes</title></head><body><p>Plain notes.</p></body></html>"
    named = client.post("/ingest", files={"files": ("notes", page, "text/html")}, headers=admin)
    assert named.status_code == 202  # no suffix, but a content type askdocs reads
