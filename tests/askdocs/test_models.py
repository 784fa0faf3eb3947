from __future__ import annotations

import pytest

from askdocs.models import I_DO_NOT_KNOW, Answer, says_idk


@pytest.mark.parametrize(
    "text", [I_DO_NOT_KNOW, "I do not know", " i do not know. ", "I DO NOT KNOW.\n", "I do not know ."]
)
def test_every_spelling_of_i_do_not_know_is_one(text: str) -> None:
    assert says_idk(text)
    assert Answer(text, [], "extractive").idk


@pytest.mark.parametrize("text", ["", "I do not know the answer.", "We do not know.", "I do not know. [1]"])
def test_other_answers_are_not(text: str) -> None:
    assert not says_idk(text)
