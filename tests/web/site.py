"""The data the pages are tested on: the handbook's index plus a page only the group ``hr`` may see."""

from __future__ import annotations

import shutil
from pathlib import Path

from askdocs.embedding import SentenceTransformerEmbedder
from askdocs.index.edge import EdgeIndex
from askdocs.models import Provenance
from ingest.loaders import RawSource
from tests.conftest import make_ingestor

SECRET = "The executive bonus pool for 2026 is 4.2 million euros, paid in March."
SECRET_SOURCE = "/hr/executive-pay.md"
SECRET_QUESTION = "How large is the executive bonus pool for 2026?"


def restricted_copy(handbook_dir: Path, embedder: SentenceTransformerEmbedder, data_dir: Path) -> None:
    """The handbook's index, plus an HR-only page (ACL: hr)."""
    shutil.copytree(handbook_dir / "qdrant", data_dir / "qdrant")
    index = EdgeIndex(data_dir / "qdrant" / "askdocs")
    page = f"# Executive compensation\n\n## Bonus pool\n\n{SECRET}\n".encode()
    outcome = make_ingestor(embedder, index).ingest_raw(
        RawSource(SECRET_SOURCE, page), Provenance(origin="hr-share", acl=("hr",))
    )
    index.close()
    assert outcome.status.value == "new", outcome
