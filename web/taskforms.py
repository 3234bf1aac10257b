"""Gone: a task's form is submitted by `engine.inbox.submission`. This name stays for web/campaign.py's
import until it validates through `engine.inbox.submission.lookups`."""
from engine.inbox.submission import DbLookups  # noqa: F401
