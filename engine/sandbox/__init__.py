"""The sandbox for the Python that process owners write in the browser: script tasks, pre/post
scripts, gateway conditions, timer and multi-instance expressions. All of it is untrusted.

Three layers, each covering what the one before cannot:

1. Compile time: RestrictedPython's policy (no names or attributes starting with "_", no exec or
   eval...) plus ours, `_Policy`: no imports, classes or print; at most one `*` per literal or
   call; every operator that can build something huge in one C step (`*`, `**`, `<<`, `+`, `%`,
   `//`) and every f-string field goes through a guard function.
2. Run time guards: attributes are looked up through `_getattr_` (no str.format, frames, mro...;
   size checks on methods such as str.ljust or list.extend), and the builtins are a small list,
   some wrapped (range, str, repr, map, zip, sum, pow...) so that C code never starts building a
   value larger than `ScriptLimits.max_items`.
3. A trace function on the evaluating thread, only while the code runs: it stops the script
   when its CPU time is up, or when the process grew by more than `max_memory_mb` (a backstop
   for many small allocations). Python switches off a trace function that raises, or that it
   cannot call (at the recursion limit), so `_check_()` (see there) keeps it on: the policy
   puts it at the top of every except/finally block, loop body and function.

Task data is checked after each run as well: shared references make `[s] * 1000` cheap to build
and enormous to store, and the engine serializes task data after every step.

Compiled code is cached by (source, mode): the same condition runs thousands of times.
"""
from .errors import SCRIPT_FILENAME, ScriptError, ScriptForbidden, ScriptLimits, ScriptTimeout, ScriptTooLarge
from .integration import SandboxedEnvironment, SandboxedScriptEngine
from .policy import _compile, check_source  # noqa: F401  (_compile: its cache is inspected by tests)

__all__ = ["SCRIPT_FILENAME", "ScriptError", "ScriptForbidden", "ScriptLimits", "ScriptTimeout", "ScriptTooLarge",
           "SandboxedEnvironment", "SandboxedScriptEngine", "check_source"]
