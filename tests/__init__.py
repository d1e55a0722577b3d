import os
import sys
import tempfile

if sys.dont_write_bytecode and not sys.pycache_prefix:
    # Run with PYTHONDONTWRITEBYTECODE, every test process (four under xdist) would compile
    # the bot and rewrite each test module for pytest's assertions again: some 3.5 s of CPU
    # a process. The compiled code is cached outside the checkout instead, which stays as
    # clean as the setting keeps it.
    sys.pycache_prefix = os.path.join(tempfile.gettempdir(), "escalation-bot-pycache")
    sys.dont_write_bytecode = False
