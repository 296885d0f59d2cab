//! Text logs: syslog/journal/dmesg envelopes; netfilter LOG, dnsmasq and sshd lines.
