"""The bench device: the device simulator as MicroPython firmware, reached over USB-CDC serial."""
