"""The wire contract: the DBC, the compiled codec, E2E protection, frame flags.

:mod:`hil.wire.dbc` reads a DBC (cantools) and its bench attributes, :mod:`hil.wire.codec`
compiles per-message encoders/decoders byte-for-byte equal to cantools,
:mod:`hil.wire.e2e` protects and checks frames (AUTOSAR profile 2) and
:mod:`hil.wire.flags` defines the frame flags and reception statuses used everywhere.
"""
