"""``python -m appliance`` is ``qingka``."""

import sys

from appliance.cli.main import main

sys.exit(main())
