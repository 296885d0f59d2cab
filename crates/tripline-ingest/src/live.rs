//! Live capture from an interface with libpcap.
