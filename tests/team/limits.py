"""Slack's Block Kit limits, checked on every block a test sees
(https://api.slack.com/reference/block-kit/blocks)."""

from __future__ import annotations

from typing import Any


def check_blocks(blocks: list[dict[str, Any]], *, max_blocks: int = 50) -> None:
    assert 0 < len(blocks) <= max_blocks, f"{len(blocks)} blocks"
    ids = [b["block_id"] for b in blocks if "block_id" in b]
    assert len(ids) == len(set(ids)), "block ids repeat"
    for block in blocks:
        kind = block["type"]
        assert len(block.get("block_id", "")) <= 255
        if kind == "header":
            assert block["text"]["type"] == "plain_text" and len(block["text"]["text"]) <= 150
        elif kind == "section":
            text = block.get("text")
            assert text or block.get("fields"), "a section needs text or fields"
            if text:
                assert 0 < len(text["text"]) <= 3000
                assert text["type"] == "plain_text" or text.get("verbatim") is True
            for field in block.get("fields", []):
                assert len(field["text"]) <= 2000
            assert len(block.get("fields", [])) <= 10
        elif kind == "context":
            assert 0 < len(block["elements"]) <= 10
            for element in block["elements"]:
                assert len(element.get("text", "")) <= 3000
        elif kind == "actions":
            assert 0 < len(block["elements"]) <= 25
            for element in block["elements"]:
                if element["type"] == "button":
                    assert len(element["text"]["text"]) <= 75
                    assert len(element.get("value", "")) <= 2000
                if element["type"] == "overflow":
                    assert 2 <= len(element["options"]) <= 5
                    for option in element["options"]:
                        assert len(option["text"]["text"]) <= 75
                        assert len(option["value"]) <= 150
        elif kind == "image":
            assert block.get("alt_text") and len(block["alt_text"]) <= 2000
        else:
            assert kind == "divider", f"unexpected block {kind}"
