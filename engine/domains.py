"""The domain modules that register service operators and completion guards (see connectors.py).

Imported once by the runtime; each import registers its module's operators by name.
"""
from . import connectors  # noqa: F401  (the built-in operators)
from . import campaign  # noqa: F401,E402  (the campaign: launch check, phase gates, disclosures, figures)
from . import clues_connectors  # noqa: F401  (clue handling: clue_months_after, reply/outcome guards)
