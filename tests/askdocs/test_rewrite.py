from __future__ import annotations

import openai

from askdocs.qa.rewrite import REWRITE_PROMPT, LLMRewriter
from tests.servers import FakeOpenAI, serve


def test_rewrite_sends_the_question_and_returns_the_query() -> None:
    fake = FakeOpenAI(replies=['"annual vacation days allowance"', 503, 503])
    with serve(fake.app()) as url:
        client = openai.OpenAI(base_url=f"{url}/v1", api_key="k", max_retries=1, timeout=5)
        rewriter = LLMRewriter(client, "m")
        assert rewriter.rewrite("hey, quick one - how much holiday do I get??") == "annual vacation days allowance"
        assert rewriter.rewrite("what about carry-over?") == "what about carry-over?"  # endpoint failed twice
    system, user = fake.requests[0]["messages"]
    assert system["content"] == REWRITE_PROMPT
    assert user == {"role": "user", "content": "hey, quick one - how much holiday do I get??"}
    assert len(fake.requests) == 3
