//! An embedded time-series store: in-memory head with a write-ahead log, XOR chunks, blocks.
