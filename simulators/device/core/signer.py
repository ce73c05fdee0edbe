"""The signature implementation of this platform: OpenSSL on CPython, pure Python on MicroPython."""

try:
    from simulators.device.core.ec_native import public_key, sign, verify
except ImportError:
    from simulators.device.core.p256 import public_key, sign, verify

__all__ = ["public_key", "sign", "verify"]
