//! DNS wire-format messages into `DnsLog` records.
