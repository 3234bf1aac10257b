"""The domain modules that register service operators and completion guards (see connectors.py).

Imported once by the runtime; each import registers its module's operators by name.
"""
from engine.runtime import connectors  # noqa: F401  (the built-in operators)
from engine.campaign import operators as campaign  # noqa: F401,E402  (the campaign: launch check, phase gates, disclosures, figures)
from engine.clues import operators as clues_connectors  # noqa: F401  (clue handling: clue_months_after, reply/outcome guards)
