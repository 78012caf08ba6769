"""Black-box tests of the call API (control-plane.md) against the real binary."""
