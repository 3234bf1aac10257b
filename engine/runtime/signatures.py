"""加签 at the engine's door: a task whose added signature (`added_signer`, written by
`engine.inbox.signers`) is pending cannot be completed — whichever door the completion came by (the
page, the API, bulk work, or the command line's plain `complete`). The pending signers are read with
the completion's other safeguards (`engine.runtime.door`)."""
from __future__ import annotations

from typing import Sequence

from engine.errors import Conflict


def refuse_while_pending(pending_signers: Sequence[str]) -> None:
    """Conflict naming who has not signed yet."""
    if pending_signers:
        raise Conflict(f"加签人 {'、'.join(pending_signers)} 尚未签署，暂不能提交", code="signature_pending")
