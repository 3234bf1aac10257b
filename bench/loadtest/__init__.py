"""The multi-node load and fault test (`make loadtest`): not part of `make test`.

seed     a fresh PostgreSQL database with departments, staff and open tasks, through the engine
cluster  app nodes (gunicorn) and schedulers as separate process groups, killed with SIGKILL and restarted
driver   the mixed load over HTTP (asyncio + aiohttp), round-robin over the nodes, latencies per request type
checks   after the run: acknowledged completions exactly once, due timers fired exactly once, audit verify
"""
