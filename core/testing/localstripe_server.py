"""Run the localstripe fake Stripe server on 127.0.0.1 only, with its store kept in memory.

`python -m core.testing.localstripe_server PORT`. localstripe's own command line binds every
interface and pickles its store to /tmp after every write (shared by every run on the
machine); here neither happens.
"""

import sys

from aiohttp import web
from localstripe import resources, server


def main() -> None:
    port = int(sys.argv[1])
    resources.Store.dump_to_disk = lambda self: None
    resources.store.clear()
    web.run_app(server.app, host="127.0.0.1", port=port, print=None, access_log=None)


if __name__ == "__main__":
    main()
