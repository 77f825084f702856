from agentic_rag._text import message_text
from agentic_rag.serve.openai_protocol import ChatMessage


def test_message_text_of_strings_and_content_blocks():
    assert message_text("Harbor") == "Harbor"
    assert message_text(None) == ""
    blocks = ["Har", {"type": "text", "text": "bor"}, {"type": "image_url", "image_url": {"url": "x"}}, {"text": " team"}]
    assert message_text(blocks) == "Harbor team"
    assert message_text([{"type": "tool_use", "id": "1", "input": {}}]) == ""


def test_openai_message_parts_are_read_the_same_way():
    message = ChatMessage(role="user", content=[{"type": "text", "text": "Who owns "}, {"type": "image_url"}, {"type": "text", "text": "Relay?"}])
    assert message.text() == message_text(message.model_dump()["content"]) == "Who owns Relay?"
