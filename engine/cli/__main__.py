"""`python -m engine.cli`: the engine's command line without the web server."""
from engine.cli.main import main

main()
