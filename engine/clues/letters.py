"""The reporter's identity in the documents addressed to them (受理告知书, 反馈意见书).

Only the discipline office's generation carries the name and contact, and each is a reveal: a
`reporter_viewed` event naming the document on the `confidential-access` chain, in the transaction
that stores the document. Anyone else gets the document with the identity masked, and no reveal.
"""
from __future__ import annotations

from engine.clues import confidential
from engine.permissions import may_handle_clues


def reporter_source(vault: confidential.ReporterVault):
    """The `reporter` callable `engine.documents.service.generate` asks for a reporter's identity."""
    def reveal(conn, principal, instance_id: str, now, kind: str):
        if not may_handle_clues(principal) or not confidential.has_reporter(conn, instance_id):
            return None
        found = confidential.reveal_reporter(conn, vault, principal, instance_id, now, document=kind)
        return found.name, found.contact
    return reveal
