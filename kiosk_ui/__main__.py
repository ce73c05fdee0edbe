"""``python -m kiosk_ui``: run the touchscreen app."""

import sys

from kiosk_ui.main import main

sys.exit(main())
